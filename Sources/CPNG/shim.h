#include <png.h>
#include <string.h>

// A zeroed png_image with its version set, as libpng's simplified API requires.
static inline png_image nas_png_image(void) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    return image;
}
