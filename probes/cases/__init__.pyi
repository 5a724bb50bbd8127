# The public names of this package, loaded on first use (__init__.py reads this file).

from ._case import CASE_KEYS, ParityCase, UNSET, cases_from_file, read_case, read_case_lines
from ._casefile import GeneratedCase, cases_jsonl, cases_toml, distinct, output_format, safe_name
from ._har import HOP_BY_HOP, REDACTED, from_har, live_case, path_template, redact_body, secret_header
from ._openapi import OpenApiCases, from_openapi, read_document

__all__ = [
    "CASE_KEYS",
    "GeneratedCase",
    "HOP_BY_HOP",
    "OpenApiCases",
    "ParityCase",
    "REDACTED",
    "UNSET",
    "cases_from_file",
    "cases_jsonl",
    "cases_toml",
    "distinct",
    "from_har",
    "from_openapi",
    "live_case",
    "output_format",
    "path_template",
    "read_case",
    "read_case_lines",
    "read_document",
    "redact_body",
    "safe_name",
    "secret_header",
]
