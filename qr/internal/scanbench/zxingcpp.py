# Reads image paths on stdin, one a line, and answers each with one line:
# "ok <hex payload> <ms>" or "no - <ms>", the time taken inside this process
# to load the image (PIL, as the qr package decodes its JPEG itself) and
# read QR codes with zxing-cpp (Debian's python3-zxing-cpp). Like zbarimg
# with -Stest-inverted, it tries the inverted image when nothing is found.
import sys
import time

import zxingcpp
from PIL import Image, ImageOps


def main():
    fmt = zxingcpp.BarcodeFormat.QRCode
    for line in sys.stdin:
        path = line.rstrip("\n")
        t0 = time.perf_counter()
        try:
            img = Image.open(path)
            img.load()
            found = zxingcpp.read_barcodes(img, formats=fmt)
            if not found:
                found = zxingcpp.read_barcodes(ImageOps.invert(img.convert("L")), formats=fmt)
        except Exception:
            found = []
        ms = (time.perf_counter() - t0) * 1000
        if found:
            sys.stdout.write("ok %s %.3f\n" % (found[0].bytes.hex(), ms))
        else:
            sys.stdout.write("no - %.3f\n" % ms)
        sys.stdout.flush()


main()
