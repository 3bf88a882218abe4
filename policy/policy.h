/*
 * policy.h: everything the policy library offers, for programs that use
 * more than one part of it (the edge, the publisher, the PAM module).
 *
 *	b0_ident.h	the grammar of addresses, domains and identities
 *	b0_allow.h	allow lists and matching addresses against them
 *	b0_spec.h	publish specs <type>/<port>[/<allowed>]
 *	b0_usermap.h	identity-to-local-user rules of a target host
 */
#ifndef B0_POLICY_H
#define B0_POLICY_H

#include "b0_allow.h"
#include "b0_ident.h"
#include "b0_spec.h"
#include "b0_usermap.h"

#endif /* B0_POLICY_H */
