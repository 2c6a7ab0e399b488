"""What one ingest run did: rows read, what changed in the graph, what was rejected and why, and how
much of the ingredient lists resolved to known ingredients."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from graph.store import LoadReport


class Rejection(BaseModel):
    """A row (or record) that was not loaded: where it is and what to fix."""

    file: str
    line: int | None = None
    column: str | None = None
    reason: str

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line is not None else "")
        return f"{where}" + (f", column {self.column!r}" if self.column else "") + f": {self.reason}"


class IngestReport(BaseModel):
    source: str
    file: str
    dry_run: bool = False
    rows_read: int = 0
    #: records built from the rows (products per variant, customers, orders)
    records: int = 0
    rejected: list[Rejection] = []
    #: notes that lost nothing (an image row without a product, a line item without SKU skipped)
    warnings: list[Rejection] = []
    #: per graph label / relationship: created, updated, deleted, unchanged (from the graph loads)
    changes: dict[str, dict[str, int]] = {}
    ingredient_entries: int = 0
    ingredient_resolved: int = 0
    unknown_ingredients: dict[str, int] = Field(default_factory=dict)
    seconds: float = 0.0

    @property
    def resolution_rate(self) -> float | None:
        return self.ingredient_resolved / self.ingredient_entries if self.ingredient_entries else None

    def reject(self, file: str, line: int | None, reason: str, column: str | None = None) -> None:
        self.rejected.append(Rejection(file=file, line=line, column=column, reason=reason))

    def warn(self, file: str, line: int | None, reason: str, column: str | None = None) -> None:
        self.warnings.append(Rejection(file=file, line=line, column=column, reason=reason))

    def count_unknown(self, names: Counter[str]) -> None:
        merged = Counter(self.unknown_ingredients) + names
        self.unknown_ingredients = dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))

    def add_load(self, load: LoadReport) -> None:
        for label, counts in load.changes.items():
            mine = self.changes.setdefault(label, {})
            for k, v in counts.items():
                mine[k] = mine.get(k, 0) + v
        self.seconds += load.seconds

    def summary(self, label: str) -> dict[str, int]:
        return {k: self.changes.get(label, {}).get(k, 0) for k in ("created", "updated", "unchanged")}

    def lines(self) -> list[str]:
        """The report as a person reads it in a terminal."""
        head = "DRY RUN (nothing written): " if self.dry_run else ""
        out = [(f"{head}{self.source} {self.file}: {self.rows_read} rows read, {self.records} records, "
               f"{len(self.rejected)} rejected")]
        for label in ("Product", "Ingredient", "Brand", "Customer", "CustomerOrder"):
            if label in self.changes:
                s = self.summary(label)
                out.append(f"  {label}: {s['created']} created, {s['updated']} updated, {s['unchanged']} unchanged")
        if self.resolution_rate is not None:
            out.append(f"  ingredients: {self.ingredient_resolved}/{self.ingredient_entries} entries resolved "
                       f"({100 * self.resolution_rate:.1f}%)")
        if self.unknown_ingredients:
            out.append("  unknown ingredients (kept as unreviewed nodes), by frequency:")
            out += [f"    {n:>4}  {name}" for name, n in list(self.unknown_ingredients.items())[:30]]
        for r in sorted(self.rejected, key=lambda r: (r.file, r.line or 0)):
            out.append(f"  REJECTED {r}")
        for w in sorted(self.warnings, key=lambda r: (r.file, r.line or 0)):
            out.append(f"  note: {w}")
        return out
