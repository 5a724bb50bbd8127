# The public names of this package, loaded on first use (__init__.py reads this file).

from ._case import CASE_KEYS, ParityCase, UNSET, cases_from_file, read_case, read_case_lines
from ._casefile import GeneratedCase, distinct, output_format, safe_name
from ._har import from_har, path_template
from ._openapi import OpenApiCases, from_openapi, read_document

__all__ = [
    "CASE_KEYS",
    "GeneratedCase",
    "OpenApiCases",
    "ParityCase",
    "UNSET",
    "cases_from_file",
    "distinct",
    "from_har",
    "from_openapi",
    "output_format",
    "path_template",
    "read_case",
    "read_case_lines",
    "read_document",
    "safe_name",
]
