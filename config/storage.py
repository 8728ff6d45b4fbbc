"""Static files for a deployment: compressed and named by their content's hash (whitenoise)."""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # The participant page's script is ES modules that import each other ("./answers.js"): their imports are
    # rewritten to the hashed names too, so a cached old module is never run beside a new main.js.
    support_js_module_import_aggregation = True
