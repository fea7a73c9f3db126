"""Citation-grounded question answering over UN treaty-body records.

The pipeline, one module a stage:
documents -> passages -> embeddings -> index -> retrieval -> answers -> cli / web.
"""

__version__ = "0.1.0"
