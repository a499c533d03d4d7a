"""Which column of the input table fills which field of the scenario's form, and which column (if
any) holds the expected answer.

``suggest_mapping`` matches header names to fields by the field's name and its labels in Chinese
and English (``resources/scenarios/*.toml``), compared without case, spaces or punctuation: an
exact match first, then a header that contains a label or is contained in one ("客户描述" for
"描述"). Each column fills at most one field. The expected column is found by its usual names
("expected", "answer", "标准答案", "预期"…). A person then edits the suggestion
(``with_changes``), and ``check_mapping`` says, before any model runs, what is still missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.batch.table_reader import InputTable
from app.core.errors import BatchMappingError
from app.core.scenarios.scenario import Scenario

EXPECTED_HEADERS = (
    "expected", "expected answer", "expected result", "answer", "correct answer", "gold",
    "ground truth", "label", "reference answer", "预期", "预期答案", "预期结果", "期望答案", "标准答案",
    "正确答案", "参考答案", "答案", "标签",
)
_NOT_A_NAME = re.compile(r"[\W_]+")
_MIN_CONTAINED = 2  # a header shorter than this never matches by containment


@dataclass(frozen=True)
class ColumnMapping:
    """``fields``: scenario field name → header of the column that fills it; ``constants``:
    field name → the value it has in every row (a choice such as the risk scenario's grading
    scale); fields in neither are left empty. ``expected``: the header of the expected answers,
    or None."""

    fields: Mapping[str, str] = field(default_factory=dict)
    expected: str | None = None
    constants: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"fields": dict(sorted(self.fields.items())), "expected": self.expected,
                "constants": dict(sorted(self.constants.items()))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColumnMapping:
        return cls(dict(data.get("fields") or {}), data.get("expected"),
                   dict(data.get("constants") or {}))

    def with_changes(self, fields: Mapping[str, str | None] | None = None,
                     expected: str | None = None,
                     constants: Mapping[str, str | None] | None = None) -> ColumnMapping:
        """This mapping with ``fields`` changed (a header, or None/"" to leave the field
        empty), ``constants`` changed likewise (a value, None/"" to drop it) and, when given,
        another expected column."""
        return ColumnMapping(_changed(self.fields, fields or {}),
                             expected if expected is not None else self.expected,
                             _changed(self.constants, constants or {}))


def _changed(current: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    updated = dict(current)
    for name, value in changes.items():
        if value:
            updated[name] = value
        else:
            updated.pop(name, None)
    return updated


def _key(text: str) -> str:
    """A header or label as compared: NFKC (full-width letters as ASCII), no case, no spaces or
    punctuation."""
    return _NOT_A_NAME.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _names_of(scenario: Scenario, field_name: str) -> list[str]:
    scenario_field = scenario.field(field_name)
    names = [field_name, field_name.replace("_", " "), *scenario_field.label.values()]
    return [key for key in dict.fromkeys(_key(name) for name in names) if key]


def suggest_mapping(scenario: Scenario, headers: tuple[str, ...]) -> ColumnMapping:
    """The columns that look like the scenario's fields and like the expected answer (see the
    module docstring). Pure function."""
    keys = {header: _key(header) for header in headers}
    expected = next((header for wanted in map(_key, EXPECTED_HEADERS)
                     for header in headers if keys[header] == wanted), None)
    taken = {expected} if expected else set()
    chosen: dict[str, str] = {}
    for exact in (True, False):
        for scenario_field in scenario.fields:
            if scenario_field.name in chosen:
                continue
            header = _matching_header(_names_of(scenario, scenario_field.name), headers, keys,
                                      taken, exact)
            if header is not None:
                chosen[scenario_field.name] = header
                taken.add(header)
    ordered = {f.name: chosen[f.name] for f in scenario.fields if f.name in chosen}
    return ColumnMapping(ordered, expected)


def _matching_header(names: list[str], headers: tuple[str, ...], keys: Mapping[str, str],
                     taken: set[str], exact: bool) -> str | None:
    for header in headers:
        key = keys[header]
        if header in taken or not key:
            continue
        if exact and key in names:
            return header
        if not exact and len(key) >= _MIN_CONTAINED and any(
                len(name) >= _MIN_CONTAINED and (name in key or key in name) for name in names):
            return header
    return None


def parse_assignments(assignments: list[str], option: str = "--map") -> dict[str, str]:
    """``FIELD=TEXT`` texts (``--map FIELD=COLUMN``, ``--set FIELD=VALUE``) as a dict;
    BatchMappingError naming ``option`` for one without "="."""
    parsed: dict[str, str] = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        if not separator or not name.strip():
            raise BatchMappingError(f"{option} takes FIELD=TEXT, not {assignment!r}")
        parsed[name.strip()] = text.strip()
    return parsed


def check_mapping(scenario: Scenario, table: InputTable, mapping: ColumnMapping) -> None:
    """Raise ``BatchMappingError`` when ``mapping`` names a field the scenario lacks or a
    column the table lacks, uses the expected column as a field, or leaves a required field
    without a column; the message lists the fields (with their labels) and columns there
    are."""
    known = [f.name for f in scenario.fields]
    columns = ", ".join(table.headers)
    for name in mapping.constants:
        if name not in known:
            raise BatchMappingError(f"scenario {scenario.id} has no field {name!r}; its fields "
                                    f"are: {', '.join(known)}")
        if name in mapping.fields:
            raise BatchMappingError(f"field {name} is filled both from column "
                                    f"{mapping.fields[name]!r} and with one value for every "
                                    "row; choose one")
    for name, header in mapping.fields.items():
        if name not in known:
            raise BatchMappingError(f"scenario {scenario.id} has no field {name!r}; its fields "
                                    f"are: {', '.join(known)}")
        if header not in table.headers:
            raise BatchMappingError(f"{table.path.name} has no column {header!r} (for field "
                                    f"{name}); its columns are: {columns}")
    if mapping.expected is not None:
        if mapping.expected not in table.headers:
            raise BatchMappingError(f"{table.path.name} has no column {mapping.expected!r} for "
                                    f"the expected answers; its columns are: {columns}")
        if mapping.expected in mapping.fields.values():
            raise BatchMappingError(f"column {mapping.expected!r} holds the expected answers, "
                                    "so it cannot also fill a field of the question")
    missing = [f for f in scenario.fields if f.required
               and f.name not in mapping.fields and f.name not in mapping.constants]
    if missing:
        wanted = "; ".join(f"{f.name} ({f.label['en']} / {f.label['zh']})" for f in missing)
        raise BatchMappingError(
            f"no column fills the required field(s) {wanted} of scenario {scenario.id}; name "
            f"the column with --map FIELD=COLUMN, or give one value for every row with --set "
            f"FIELD=VALUE (columns: {columns})")


def row_values(table: InputTable, mapping: ColumnMapping, row_index: int) -> dict[str, str]:
    """The form values of row ``row_index``: field name → its column's cell as text, or the
    value the field has in every row."""
    return {**mapping.constants,
            **{name: table.text(row_index, header) for name, header in mapping.fields.items()}}


def expected_text(table: InputTable, mapping: ColumnMapping, row_index: int) -> str | None:
    """The row's expected answer as text, None without an expected column or for an empty
    cell."""
    if mapping.expected is None:
        return None
    return table.text(row_index, mapping.expected).strip() or None
