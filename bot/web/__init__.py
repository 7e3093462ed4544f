"""The public schedule pages and calendar feeds (Starlette + Jinja2, served by uvicorn)."""
