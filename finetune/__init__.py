"""LoRA fine-tuning of the local model. Not built yet: see the fine-tuning issue."""
