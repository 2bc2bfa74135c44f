package main

import (
	"errors"
	"flag"
	"strings"

	"newsflash/internal/apns"
	"newsflash/internal/fcm"
	"newsflash/internal/push"
	"newsflash/internal/server"
)

// appPushFlags are the settings of the app platforms: Android through FCM,
// iOS through APNs. A platform is on when its settings are given.
type appPushFlags struct {
	fcmCredentials, fcmEndpoint                                 string
	apnsKeyFile, apnsKeyID, apnsTeamID, apnsTopic, apnsEndpoint string
	fcmConcurrency, apnsConcurrency                             int
}

func (a *appPushFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.fcmCredentials, "fcm-credentials", "", "Google service-account JSON file of the Firebase project (project_id, client_email, private_key, token_uri); turns Android push on")
	fs.StringVar(&a.fcmEndpoint, "fcm-endpoint", fcm.DefaultEndpoint, "FCM HTTP v1 API base URL (absolute https)")
	fs.StringVar(&a.apnsKeyFile, "apns-key-file", "", "APNs signing key (.p8) file; with --apns-key-id, --apns-team-id and --apns-topic turns iOS push on")
	fs.StringVar(&a.apnsKeyID, "apns-key-id", "", "the APNs signing key's 10-character id")
	fs.StringVar(&a.apnsTeamID, "apns-team-id", "", "the Apple developer team's 10-character id")
	fs.StringVar(&a.apnsTopic, "apns-topic", "", "the iOS app's bundle id (apns-topic)")
	fs.StringVar(&a.apnsEndpoint, "apns-endpoint", apns.DefaultEndpoint, "APNs server (absolute https); development builds of the app use "+apns.DevelopmentEndpoint)
	fs.IntVar(&a.fcmConcurrency, "fcm-concurrency", push.DefaultFCMConcurrency, "sends in flight from this instance to FCM")
	fs.IntVar(&a.apnsConcurrency, "apns-concurrency", push.DefaultAPNsConcurrency, "sends in flight from this instance to APNs")
}

// configure sets cfg.FCM and cfg.APNs from the flags, loading the
// credential and the key: a bad one is reported with its flag's name.
func (a *appPushFlags) configure(cfg *server.Options) (flagName string, err error) {
	for name, n := range map[string]int{"fcm-concurrency": a.fcmConcurrency, "apns-concurrency": a.apnsConcurrency} {
		if n < 1 || n > 10000 {
			return name, errors.New("must be 1 to 10000")
		}
	}
	cfg.Push.FCMConcurrency, cfg.Push.APNsConcurrency = a.fcmConcurrency, a.apnsConcurrency
	if a.fcmCredentials != "" {
		creds, err := fcm.LoadCredentials(a.fcmCredentials)
		if err != nil {
			return "fcm-credentials", err
		}
		cfg.FCM = fcm.Options{Endpoint: a.fcmEndpoint, Credentials: creds}
		if _, err := fcm.New(fcm.Deps{}, cfg.FCM); err != nil {
			return "fcm-endpoint", err
		}
	}
	given := map[string]string{"apns-key-file": a.apnsKeyFile, "apns-key-id": a.apnsKeyID, "apns-team-id": a.apnsTeamID, "apns-topic": a.apnsTopic}
	var missing []string
	for _, name := range []string{"apns-key-file", "apns-key-id", "apns-team-id", "apns-topic"} {
		if given[name] == "" {
			missing = append(missing, "--"+name)
		}
	}
	switch {
	case len(missing) == 4:
		return "", nil // iOS off
	case len(missing) > 0:
		first := strings.TrimPrefix(missing[0], "--")
		return first, errors.New("iOS push needs --apns-key-file, --apns-key-id, --apns-team-id and --apns-topic; missing: " + strings.Join(missing, ", "))
	}
	key, err := apns.LoadKey(a.apnsKeyFile)
	if err != nil {
		return "apns-key-file", err
	}
	cfg.APNs = apns.Options{Endpoint: a.apnsEndpoint, Key: key, KeyID: a.apnsKeyID, TeamID: a.apnsTeamID, Topic: a.apnsTopic}
	if _, err := apns.New(apns.Deps{}, cfg.APNs); err != nil {
		var oe *apns.OptionError
		if errors.As(err, &oe) {
			flags := map[string]string{"Endpoint": "apns-endpoint", "Key": "apns-key-file", "KeyID": "apns-key-id", "TeamID": "apns-team-id", "Topic": "apns-topic"}
			if f, ok := flags[oe.Option]; ok {
				return f, errors.New(oe.Problem)
			}
		}
		return "apns-key-file", err
	}
	return "", nil
}
