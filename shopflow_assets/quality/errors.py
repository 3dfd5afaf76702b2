"""Quality errors that callers catch without importing Pandera (it loads on a thread, in the run)."""


class ContractError(RuntimeError):
    """The data does not have the contract's shape (a missing column or a wrong type): a bug
    in the silver SQL, not a data-quality finding."""
