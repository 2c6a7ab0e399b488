"""Turning files and store exports into graph rows and documents."""
