# A write() held in the middle of its copy, the way a descheduled writer is.
#
#   paused-write.py probe                  exit 0 when userfaultfd works here
#   paused-write.py PATH SIZE MARKERS_DIR
#
# Writes SIZE bytes of 'B' over PATH in ONE pwrite whose source buffer's
# second half is registered with userfaultfd (missing pages): the kernel
# updates mtime/ctime, copies the first half, then faults on the second half
# and sleeps. The script then creates MARKERS_DIR/paused, waits for
# MARKERS_DIR/go, fills the missing pages with 'B' (the write completes) and
# creates MARKERS_DIR/done holding the pwrite's result.
import ctypes, mmap, os, platform, struct, sys, threading, time

SYSCALL = {'x86_64': 323, 'aarch64': 282}.get(platform.machine())
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def fail(what):
    sys.stderr.write(f'{what}: {os.strerror(ctypes.get_errno())}\n')
    sys.exit(3)


def userfaultfd():
    if SYSCALL is None:
        sys.stderr.write(f'no userfaultfd syscall number for {platform.machine()}\n')
        sys.exit(3)
    fd = libc.syscall(SYSCALL, os.O_CLOEXEC)
    if fd < 0:
        fail('userfaultfd')
    ioctl(fd, 0xC018AA3F, struct.pack('QQQ', 0xAA, 0, 0))  # UFFDIO_API
    return fd


def ioctl(fd, request, arg):
    buf = ctypes.create_string_buffer(arg, len(arg))
    if libc.ioctl(fd, ctypes.c_ulong(request), buf) != 0:
        fail(f'ioctl {request:#x}')


def marker(name, text=''):
    path = os.path.join(markers, name)
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(path + '.tmp', path)


if sys.argv[1] == 'probe':
    os.close(userfaultfd())
    sys.exit(0)

path, size, markers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
uffd = userfaultfd()
half = size // 2
buf = mmap.mmap(-1, size, prot=mmap.PROT_READ | mmap.PROT_WRITE)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
buf[:half] = b'B' * half
ioctl(uffd, 0xC020AA00, struct.pack('QQQQ', addr + half, size - half, 1, 0))  # UFFDIO_REGISTER, missing pages
fd = os.open(path, os.O_WRONLY)
written = []
writer = threading.Thread(target=lambda: written.append(os.pwrite(fd, buf, 0)))
writer.start()
os.read(uffd, 32)  # the fault message: the write is now asleep in its copy
marker('paused')
deadline = time.monotonic() + 120
while not os.path.exists(os.path.join(markers, 'go')):
    if time.monotonic() > deadline:
        sys.exit('never told to go on')
    time.sleep(0.005)
src = mmap.mmap(-1, size - half)
src[:] = b'B' * (size - half)
src_addr = ctypes.addressof(ctypes.c_char.from_buffer(src))
ioctl(uffd, 0xC028AA03, struct.pack('QQQQq', addr + half, src_addr, size - half, 0, 0))  # UFFDIO_COPY
writer.join()
os.close(fd)
marker('done', str(written[0] if written else -1))
