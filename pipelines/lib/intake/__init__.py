"""One intake for every file that arrives (returns, FSQ exports, Compass evaluations).

- `guard`: limits checked BEFORE any reader sees the bytes (sizes, zip members, sheet dimensions);
- `read`: bytes -> one table of text cells with Excel row numbers (fastexcel for XLSX, polars for CSV);
- `cells`: the cell parsers (one `parse_date`), the formula guard and value shortening;
- `feedback`: the one feedback renderer (HTML and text), bounded per rule;
- `store`: hashing, atomic writes, the audit log and quarantine (one function);
- `gx`: the one Great Expectations runner.
Returns and careers keep only their own rules.
"""
