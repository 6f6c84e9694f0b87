"""The app's widgets, grouped by the screen that shows them."""
