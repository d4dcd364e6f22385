"""Baton codegen: turn each API version's OpenAPI document into the Python, Go and Java clients.

The command line (``python -m baton_codegen``) is the interface; the functions below are what the
conformance suite and the tests use.
"""

from baton_codegen._generators import GENERATED_DIRS, LANGUAGES, GeneratorError
from baton_codegen._normalize import downgrade_to_30, drop_version_header, for_go, for_java, for_python
from baton_codegen._pipeline import build_folder, drift, generate, load_documents
from baton_codegen._verify import build_problems

__all__ = [
    "GENERATED_DIRS",
    "LANGUAGES",
    "GeneratorError",
    "build_folder",
    "build_problems",
    "downgrade_to_30",
    "drift",
    "drop_version_header",
    "for_go",
    "for_java",
    "for_python",
    "generate",
    "load_documents",
]
