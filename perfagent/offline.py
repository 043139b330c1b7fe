"""Process-wide environment for offline, quiet model loading.

Set before any Hugging Face library is imported: models come from local directories only, and
nothing tries to reach a hub or a telemetry endpoint.
"""

from __future__ import annotations

import os

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
}


def configure_offline_env() -> None:
    """Apply `OFFLINE_ENV` without overriding what the user set explicitly."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
