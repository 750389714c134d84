package purge

import "strings"

// TenantPrefix starts every CloudFront distribution tenant ID (dt_…).
const TenantPrefix = "dt_"

// IsTenantID reports whether id names a distribution tenant of a
// multi-tenant distribution rather than a distribution. CloudFront's two
// kinds of ID never overlap: a distribution ID is upper-case letters and
// digits, a tenant ID starts with "dt_". Wherever this package takes a
// distributionID, a tenant ID may stand instead, and a backend then uses the
// tenant's operations (CreateInvalidationForDistributionTenant and its Get
// and List).
func IsTenantID(id string) bool { return strings.HasPrefix(id, TenantPrefix) }
