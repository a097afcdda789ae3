package termview

import "os"

// notifyResize: Windows consoles send no resize signal; the width is still
// read at every draw, so the next redraw fits.
func notifyResize(chan os.Signal) {}
