"""SQL text built in Python: quoting for the places DuckDB takes no bound parameters (table functions,
identifiers), and a readable rendering of raw values in quarantine reasons."""


def sql_str(value: str) -> str:
    """A SQL string literal (DuckDB table functions do not take bound parameters everywhere)."""
    return "'" + value.replace("'", "''") + "'"


def printable_sql(expr: str) -> str:
    """`expr` with control characters escaped (as Python's repr would), so that a reason quoting
    a binary value reads cleanly; the common, clean text costs one regexp test."""
    escaped = (
        f"array_to_string(list_transform(string_split({expr}, ''), lambda c: CASE "
        r"WHEN c = chr(9) THEN '\t' WHEN c = chr(10) THEN '\n' WHEN c = chr(13) THEN '\r' "
        r"WHEN ord(c) < 32 OR ord(c) = 127 THEN '\x' || lpad(lower(hex(ord(c))), 2, '0') ELSE c END), '')"
    )
    return rf"CASE WHEN regexp_matches({expr}, '[\x00-\x1f\x7f]') THEN {escaped} ELSE {expr} END"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
