"""amlops: operate Azure Machine Learning from Git."""

__version__ = "0.1.0"
