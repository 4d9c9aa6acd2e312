package main

import (
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"

	"github.com/bankcore/bank/tools/temporal-cluster/internal/options"
)

// startUI serves the Web UI (the UI server module the Temporal CLI embeds)
// in the background. It talks to o.FrontendAddress over gRPC like any
// client, so it may run beside any frontend or alone.
func startUI(o options.Options, logger log.Logger) *uiserver.Server {
	ui := uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                o.IP,
		Port:                o.Ports.UI,
		TemporalGRPCAddress: o.FrontendAddress,
		EnableUI:            true,
		DefaultNamespace:    "default",
		// The browser calls the codec server (the bank API's /codec) with
		// the operator's session cookie: docs/operations.md.
		Codec: uiconfig.Codec{Endpoint: o.UICodecEndpoint, IncludeCredentials: o.UICodecEndpoint != ""},
		// As the dev server: the CSRF cookie must also work over plain HTTP
		// on a private address (the UI has no login of its own; see
		// docs/DEPLOYMENT.md).
		CORS:     uiconfig.CORS{CookieInsecure: true},
		HideLogs: true,
	}))
	go func() {
		// Start blocks while serving; a failure to listen exits the process
		// (the UI server's own behaviour), which checkPortsFree makes rare.
		if err := ui.Start(); err != nil {
			logger.Error("Web UI stopped", tag.Error(err))
		}
	}()
	return ui
}
