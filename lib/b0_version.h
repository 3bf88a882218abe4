/* The version of every b0 program. */
#ifndef B0_VERSION_H
#define B0_VERSION_H

#define B0_VERSION "0.1.0"

#endif /* B0_VERSION_H */
