#!/usr/bin/python3
"""A GTK 3 window that offers one file by drag and drop, for the smoke test.

Usage: dragsource.py FILE X Y  -- shows a 120x60 "drag me" button at X,Y (no window manager
needed), prints "ready", and offers FILE as text/uri-list (the only type GLFW accepts) when
xdotool drags from it. It quits when the drag ends, or after 60 seconds.
"""
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

path, x, y = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
uri = GLib.filename_to_uri(path, None)

win = Gtk.Window(title="drag source")
win.set_default_size(120, 60)
win.move(x, y)
button = Gtk.Button(label="drag me")
win.add(button)
button.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
button.drag_source_add_uri_targets()
button.connect("drag-data-get", lambda w, ctx, data, info, t: data.set_uris([uri]))
button.connect("drag-end", lambda *a: GLib.timeout_add(200, Gtk.main_quit))
win.connect("destroy", Gtk.main_quit)
win.show_all()
GLib.timeout_add_seconds(1, lambda: print("ready", flush=True) and False)
GLib.timeout_add_seconds(60, Gtk.main_quit)
Gtk.main()
