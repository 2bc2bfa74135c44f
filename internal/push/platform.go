package push

// Platforms of subscriptions: web (Web Push, a browser) and the app
// devices, reached through FCM (Android) and APNs (iOS).
const (
	PlatformWeb     = "web"
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
)

// Host keys of the app providers: a device's "host", under which its sends
// are bounded (Options.FCMConcurrency, APNsConcurrency), deferred after a
// Retry-After, checkpointed in a job's progress and labelled in metrics.
// A web subscription's host is its endpoint's (a push service's public
// DNS name, or host:port of a test endpoint), which these words are not.
const (
	hostFCM  = "fcm"
	hostAPNs = "apns"
)

// platform is a Platform as a small index, for per-platform counts.
type platform uint8

const (
	platformWeb platform = iota
	platformAndroid
	platformIOS
	numPlatforms
	// platformUnknown is a record's platform this version does not know
	// (written by a newer one): it is counted nowhere and sent nothing.
	platformUnknown = numPlatforms
)

var platformNames = [numPlatforms]string{PlatformWeb, PlatformAndroid, PlatformIOS}

// platformOf is the platform of a stored record's Platform field.
func platformOf(name string) platform {
	switch name {
	case "", PlatformWeb:
		return platformWeb
	case PlatformAndroid:
		return platformAndroid
	case PlatformIOS:
		return platformIOS
	}
	return platformUnknown
}

func (p platform) String() string {
	if p < numPlatforms {
		return platformNames[p]
	}
	return "unknown"
}

// host is the host key of a device platform's provider; "" for web, whose
// hosts are the endpoints'.
func (p platform) host() string {
	switch p {
	case platformAndroid:
		return hostFCM
	case platformIOS:
		return hostAPNs
	}
	return ""
}
