"""The web registry (`blinareg serve`): FastAPI pages and JSON API over the store; see docs/web.md."""
