/*
 * Included before every unit test (tests/CMakeLists.txt, -include). cmocka 1.1 declares
 * _fail(), which fail() and fail_msg() expand to, without noreturn, though it never returns:
 * it longjmps back to the test runner, or exits. Saying so lets the compiler and the clang
 * static analyzer see that a test stops there, so code after `if (!p) fail_msg(...);` is not
 * taken for a null dereference. (assert_*() fail inside the library, where neither can see
 * it: check with if and fail_msg() where the test goes on to use the value.) The declaration
 * is cmocka.h's own with the attribute added.
 */
#ifndef SM_TESTS_CMOCKA_NORETURN_H
#define SM_TESTS_CMOCKA_NORETURN_H

void _fail(const char *const file, const int line) __attribute__((noreturn));

#endif
