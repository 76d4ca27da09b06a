"""Command modules for ``forum``. Each module here defines
``register(sub: argparse._SubParsersAction) -> None`` and is found automatically,
so features add commands without touching ``forum.cli``."""
