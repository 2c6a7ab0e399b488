"""SkinSage: the shared kernel (settings, errors, command line) of the skincare assistant."""

__version__ = "0.1.0"
