"""Feeds: read core-system files, validate them, quarantine bad rows, load the store."""

from postloan.feeds.importer import FileReport, ImportReport, find_feed_files, import_directory
from postloan.feeds.readers import read_table
from postloan.feeds.validation import RowError, ValidatedFeed, validate

__all__ = [
    "FileReport",
    "ImportReport",
    "RowError",
    "ValidatedFeed",
    "find_feed_files",
    "import_directory",
    "read_table",
    "validate",
]
