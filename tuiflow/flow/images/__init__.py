"""Images in pipelines: ImagesBatch loads image files and augments them per item, in parallel.

Importing this package does not import PIL; the actions import it when they first run.
"""

from tuiflow.flow.images.batch import ImagesBatch
from tuiflow.flow.images.item import ImageItem, image_action

__all__ = ["ImageItem", "ImagesBatch", "image_action"]
