"""The Gradio chat front end. Not built yet: see the UI issue."""
