/* SPDX-License-Identifier: MIT */
/* An ordinary shared library: exports a function, no descriptor. */
int plain_answer(void);
int plain_answer(void)
{
	return 42;
}
