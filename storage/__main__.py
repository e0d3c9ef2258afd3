"""`python -m storage > docs/session.schema.json`: print the session document's JSON Schema,
generated from its types (storage/document.py). tests/test_storage_export.py fails when the
published file is stale."""

import sys

from storage.document_schema import schema_text

sys.stdout.write(schema_text())
