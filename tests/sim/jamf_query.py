"""Query parameters of Jamf list endpoints: RSQL filters, sorting and paging.

Jamf Pro and the Jamf Platform API filter lists with RSQL
(https://github.com/jirutka/rsql-parser):

    filter=general.name=="Lab \\"A\\", 2nd floor";operatingSystem.build=in=(25D2128,25D125)

Supported here: ``==`` ``!=`` ``=in=`` ``=out=`` ``=lt=`` ``=le=`` ``=gt=``
``=ge=`` (and ``<`` ``<=`` ``>`` ``>=``), ``;`` or `` and `` (AND, binds
tighter), ``,`` or `` or `` (OR), parentheses, and values either unquoted or
in double or single quotes with backslash escapes.  ``*`` in an ``==`` /
``!=`` value is a wildcard.  String comparisons ignore case, as Jamf's MySQL
collation does.

Errors raise QueryError(field, description); the caller turns it into the
service's error body.
"""

import re

MAX_PAGE_SIZE = 2000  # Jamf Pro silently caps page-size here


class QueryError(Exception):
    """A bad filter, sort or paging parameter."""

    def __init__(self, field, description, code="INVALID_FIELD"):
        """field: the query parameter at fault; description: for the error body."""
        super().__init__(description)
        self.field = field
        self.description = description
        self.code = code


# ---------------------------------------------------------------------------
# RSQL parsing
# ---------------------------------------------------------------------------

_OPERATORS = {"==": "==", "!=": "!=", "=in=": "in", "=out=": "out", "=lt=": "<", "=le=": "<=",
              "=gt=": ">", "=ge=": ">=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_RESERVED = set('"\'();,=!<> \t\r\n')
_SELECTOR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


class _Parser:
    """Recursive-descent parser producing a small AST of tuples.

    ("and", [nodes]), ("or", [nodes]), ("cmp", selector, op, [values]).
    """

    def __init__(self, text):
        """Prepare to parse text."""
        self.text = text
        self.pos = 0

    def error(self, message):
        """Raise a syntax error pointing at the current position."""
        raise QueryError("filter", f"Invalid RSQL filter at position {self.pos}: {message}",
                         code="INVALID_PARAMETER")

    def skip_ws(self):
        """Advance past whitespace."""
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def keyword(self, word):
        """Consume ` and ` / ` or ` (whitespace-delimited keyword) if present."""
        start = self.pos
        self.skip_ws()
        end = self.pos + len(word)
        preceded = self.pos > 0 and self.text[self.pos - 1].isspace()
        if (preceded and self.text[self.pos:end].lower() == word
                and end < len(self.text) and self.text[end].isspace()):
            self.pos = end
            return True
        self.pos = start
        return False

    def parse(self):
        """Parse the whole filter."""
        self.skip_ws()
        if self.pos == len(self.text):
            return None
        node = self.parse_or()
        self.skip_ws()
        if self.pos != len(self.text):
            self.error(f"unexpected {self.text[self.pos]!r}")
        return node

    def parse_or(self):
        """or_expr := and_expr ((',' | 'or') and_expr)*"""
        nodes = [self.parse_and()]
        while True:
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.keyword("or"):
                break
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    def parse_and(self):
        """and_expr := constraint ((';' | 'and') constraint)*"""
        nodes = [self.parse_constraint()]
        while True:
            save = self.pos
            self.skip_ws()
            if self.text.startswith(";", self.pos):
                self.pos += 1
            elif not self.keyword("and"):
                self.pos = save
                break
            nodes.append(self.parse_constraint())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def parse_constraint(self):
        """constraint := '(' or_expr ')' | selector operator argument"""
        self.skip_ws()
        if self.text.startswith("(", self.pos):
            self.pos += 1
            node = self.parse_or()
            self.skip_ws()
            if not self.text.startswith(")", self.pos):
                self.error("missing ')'")
            self.pos += 1
            return node
        match = _SELECTOR_RE.match(self.text, self.pos)
        if not match:
            self.error("expected a field name")
        self.pos = match.end()
        selector = match.group(0)
        self.skip_ws()
        op = self.parse_operator()
        self.skip_ws()
        if op in ("in", "out"):
            if not self.text.startswith("(", self.pos):
                self.error(f"={op}= needs a list in parentheses")
            self.pos += 1
            values = [self.parse_value()]
            while True:
                self.skip_ws()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    values.append(self.parse_value())
                    continue
                if self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                self.error("expected ',' or ')' in a value list")
        else:
            values = [self.parse_value()]
        return ("cmp", selector, op, values)

    def parse_operator(self):
        """Return the normalised operator at the current position."""
        for token in sorted(_OPERATORS, key=len, reverse=True):
            if self.text.startswith(token, self.pos):
                self.pos += len(token)
                return _OPERATORS[token]
        match = re.compile(r"=[a-z]+=").match(self.text, self.pos)
        if match:
            self.error(f"unknown operator {match.group(0)}")
        self.error("expected an operator")
        return None  # not reached

    def parse_value(self):
        """A quoted (with backslash escapes) or unquoted value."""
        self.skip_ws()
        if self.pos >= len(self.text):
            self.error("expected a value")
        quote = self.text[self.pos]
        if quote in "\"'":
            self.pos += 1
            out = []
            while True:
                if self.pos >= len(self.text):
                    self.error("unterminated quoted value")
                char = self.text[self.pos]
                if char == "\\" and self.pos + 1 < len(self.text):
                    out.append(self.text[self.pos + 1])
                    self.pos += 2
                elif char == quote:
                    self.pos += 1
                    return "".join(out)
                else:
                    out.append(char)
                    self.pos += 1
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _RESERVED:
            self.pos += 1
        if self.pos == start:
            self.error("expected a value")
        return self.text[start:self.pos]


def parse_filter(text):
    """Parse an RSQL filter; None for an empty one.  Raises QueryError."""
    return _Parser(text or "").parse()


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------

def _number(value):
    """value as int/float if it looks numeric, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None


def _equals(actual, wanted):
    """RSQL == for one field value against one filter string."""
    if actual is None:
        return False
    if isinstance(actual, bool):
        return wanted.lower() == ("true" if actual else "false")
    if isinstance(actual, (int, float)):
        number = _number(wanted)
        return number is not None and number == actual
    actual = str(actual)
    if "*" in wanted:
        pattern = ".*".join(re.escape(part) for part in wanted.split("*"))
        return re.fullmatch(pattern, actual, re.IGNORECASE | re.DOTALL) is not None
    return actual.casefold() == wanted.casefold()


def _compare(actual, op, wanted):
    """RSQL ordering comparison: numeric when both sides are numbers."""
    if actual is None or isinstance(actual, bool):
        return False
    left, right = _number(actual), _number(wanted)
    if left is None or right is None:
        left, right = str(actual).casefold(), wanted.casefold()
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def check_fields(node, allowed):
    """Raise QueryError if the filter uses a field not in allowed (a collection)."""
    if node is None:
        return
    if node[0] in ("and", "or"):
        for child in node[1]:
            check_fields(child, allowed)
        return
    if node[1] not in allowed:
        names = ", ".join(sorted(allowed))
        raise QueryError("filter", f"Cannot filter by field [{node[1]}]. Fields that can be used in "
                                   f"filtering results of this endpoint: [{names}]")


def evaluate(node, record, getter):
    """True if record matches; getter(record, field) returns the field's value."""
    if node is None:
        return True
    kind = node[0]
    if kind == "and":
        return all(evaluate(child, record, getter) for child in node[1])
    if kind == "or":
        return any(evaluate(child, record, getter) for child in node[1])
    _, field, op, values = node
    actual = getter(record, field)
    if op == "==":
        return _equals(actual, values[0])
    if op == "!=":
        return not _equals(actual, values[0])
    if op == "in":
        return any(_equals(actual, value) for value in values)
    if op == "out":
        return not any(_equals(actual, value) for value in values)
    return _compare(actual, op, values[0])


def apply_filter(records, text, fields):
    """Records matching RSQL text; fields maps field name -> getter(record)."""
    node = parse_filter(text)
    check_fields(node, fields)
    return filter_records(records, node, fields)


def filter_records(records, node, fields):
    """Records matching a parsed filter (None: all of them, as a new list)."""
    if node is None:
        return list(records)
    test = compile_filter(node, fields)
    return [r for r in records if test(r)]


def compile_filter(node, fields):
    """A function record -> bool that says what evaluate() says, faster on long lists.

    Comparisons of a string field with values without wildcards compare casefolds
    directly (what _equals does for them); everything else goes through _equals and
    _compare as in evaluate().
    """
    kind = node[0]
    if kind in ("and", "or"):
        tests = [compile_filter(child, fields) for child in node[1]]
        if kind == "and":
            return lambda record: all(test(record) for test in tests)
        return lambda record: any(test(record) for test in tests)
    _, field, op, values = node
    getter = fields[field]
    if op in ("==", "!=", "in", "out"):
        wanted = values[:1] if op in ("==", "!=") else values
        negate = op in ("!=", "out")
        if any("*" in value for value in wanted):
            def matches(record):
                actual = getter(record)
                return any(_equals(actual, value) for value in wanted) != negate
            return matches
        folded = {value.casefold() for value in wanted}

        def matches_plain(record):
            actual = getter(record)
            if type(actual) is str:  # noqa: E721  (exactly str: what _equals compares as text)
                return (actual.casefold() in folded) != negate
            return any(_equals(actual, value) for value in wanted) != negate
        return matches_plain
    return lambda record: _compare(getter(record), op, values[0])


def exact_values(node, field):
    """The values of a filter that is only `field==v` or `field=in=(v,...)` without wildcards.

    A caller holding the records in a dict keyed by that field's (lower-case) value can then
    look them up instead of scanning: a string field equals a value when their casefolds
    are equal.  None for any other filter.
    """
    if node is None or node[0] != "cmp" or node[1] != field or node[2] not in ("==", "in"):
        return None
    values = node[3]
    return None if any("*" in value for value in values) else values


# ---------------------------------------------------------------------------
# Sorting and paging
# ---------------------------------------------------------------------------

def _sort_key(value):
    """A key that orders None first, numbers numerically, strings caselessly."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, (int, float)):
        return (1, value, "")
    text = str(value)
    if text.isdigit():  # Jamf ids are numeric strings: "10" sorts after "9"
        return (1, int(text), "")
    return (2, 0, text.casefold())


def apply_sort(records, sort_params, fields, default):
    """Sort by `field:asc|desc` criteria (comma-separated, possibly repeated).

    sort_params: the list of `sort` query values (empty: use default).
    fields maps sortable field name -> getter(record).
    """
    return sort_records(records, sort_criteria(sort_params, fields, default), fields)


def sort_criteria(sort_params, fields, default):
    """The `field:asc|desc` criteria as [(field name, descending)], most significant first.

    Raises QueryError for a field not in fields or a bad direction.
    """
    criteria = []
    for param in (sort_params or [default]):
        for item in param.split(","):
            item = item.strip()
            if not item:
                continue
            name, _, direction = item.partition(":")
            direction = (direction or "asc").lower()
            if name not in fields or direction not in ("asc", "desc"):
                names = ", ".join(sorted(fields))
                raise QueryError("sort", f"Cannot sort by [{item}]. Fields that can be used in "
                                         f"sorting results of this endpoint: [{names}]")
            criteria.append((name, direction == "desc"))
    return criteria


def sort_records(records, criteria, fields):
    """A new list of records sorted by criteria (from sort_criteria); fields: name -> getter."""
    result = list(records)
    for name, reverse in reversed(criteria):  # stable sorts: least significant first
        getter = fields[name]
        result.sort(key=lambda rec, g=getter: _sort_key(g(rec)), reverse=reverse)
    return result


def int_param(params, name, default, minimum=0):
    """One integer query parameter (the last given), or default."""
    values = params.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise QueryError(name, f"{name} must be an integer, got {values[-1]!r}",
                         code="INVALID_PARAMETER") from None
    if value < minimum:
        raise QueryError(name, f"{name} must be >= {minimum}", code="INVALID_PARAMETER")
    return value


def page_params(params, default_size=100, max_size=MAX_PAGE_SIZE):
    """(page, page_size) from the query; page-size above max_size is capped silently."""
    page = int_param(params, "page", 0, minimum=0)
    size = int_param(params, "page-size", default_size, minimum=1)
    if max_size is not None:
        size = min(size, max_size)
    return page, size


def paginate(records, page, size):
    """The slice of records on page `page` (0-based) of `size` items."""
    return records[page * size:(page + 1) * size]
