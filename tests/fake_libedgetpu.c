/* A fake libedgetpu for the Edge TPU probe's tests: the delegate plugin API that LiteRT's
 * load_delegate calls, misbehaving the way a libedgetpu built for another TF Lite version or a
 * wedged Coral does. Compile with one of -DFAKE_SEGV (crash when the delegate is created),
 * -DFAKE_HANG (never return) or -DFAKE_NULL (no delegate, with an error message). */
#include <stddef.h>
#include <unistd.h>

typedef void (*report_fn)(const char *);

void *tflite_plugin_create_delegate(char **keys, char **values, size_t count, report_fn report) {
    (void)keys;
    (void)values;
    (void)count;
#if defined(FAKE_SEGV)
    *(volatile int *)0 = 1;
#elif defined(FAKE_HANG)
    for (;;) {
        pause();
    }
#endif
    if (report != NULL) {
        report("fake libedgetpu: no Edge TPU device found");
    }
    return NULL;
}

void tflite_plugin_destroy_delegate(void *delegate) { (void)delegate; }
