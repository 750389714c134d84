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

// ValidTenantID reports whether id is shaped like a distribution tenant ID
// as CloudFront issues them: TenantPrefix and then 1 to 64 letters and
// digits (dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB).
func ValidTenantID(id string) bool {
	rest, ok := strings.CutPrefix(id, TenantPrefix)
	if !ok || rest == "" || len(rest) > 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
