"""Evidence tools the agent calls (score_dimensions, draft_feedback, retrieve_documents).

Not built yet: see the project's issue on evidence tools.
"""
