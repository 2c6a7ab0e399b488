"""Photo skin analysis: intake safety, quality gate, face regions, measurements, progress over time.

`analyze_photo(bytes)` is the one call the CLI, the HTTP route and the assistant's
`analyze_skin_photo` tool share. Importing this package is cheap: OpenCV, torch and timm load
only when a photo is first analysed.
"""

from vision.models import SkinAnalysis
from vision.service import analyze_and_record, analyze_photo

__all__ = ["SkinAnalysis", "analyze_and_record", "analyze_photo"]
