"""sori's NLP core: one data path from source records to tagged pain points, usable without Prefect."""

# Rows name it in `model_version` beside the models and data files, so a window mined again after a
# change can be told apart: raise it with any change that moves the rows a window mines to.
__version__ = "0.2.0"
