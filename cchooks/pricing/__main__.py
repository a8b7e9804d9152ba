"""`python -m cchooks.pricing`: regenerate prices.json from prices.toml."""

import json

from cchooks.pricing import BUNDLED_JSON, read_bundled_toml

BUNDLED_JSON.write_text(json.dumps(read_bundled_toml(), indent=1, sort_keys=True) + "\n", "utf-8")
print(f"wrote {BUNDLED_JSON}")
