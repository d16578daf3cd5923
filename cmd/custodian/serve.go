package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/custodian-project/custodian/deployment"
	"github.com/custodian-project/custodian/web"
)

// integrateEvery is how often the server folds new log entries into the
// tree and signs a checkpoint.
const integrateEvery = 500 * time.Millisecond

func runServe(ctx context.Context, args []string, env func(string) string, io stdio) error {
	fs := flags("serve", io)
	data := dataFlag(fs)
	addr := fs.String("addr", "", "listen address (default: the config's listen)")
	if err := parse(fs, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(io.err, nil))
	d, err := deployment.Open(ctx, *data, logger, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	if *addr == "" {
		*addr = d.Config.Listen
	}
	return serve(ctx, d, *addr, logger, func(base string) {
		fmt.Fprintf(io.out, "custodian serving %s on %s\n", d.Dir, base)
	})
}

// serve runs the HTTP server and the log integrator until ctx ends. ready
// is called with the base URL once the listener is open (port 0 allowed).
func serve(ctx context.Context, d *deployment.Deployment, addr string, logger *slog.Logger, ready func(base string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := web.NewServer(web.Deps{Service: d.Service, Tiles: d.Log.Handler(), Logger: logger, Metrics: reg})
	srv := web.HTTPServer("", h, logger)
	if _, err := d.Log.Integrate(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("integrate log: %w", err)
	}
	d.Service.WarmInBackground()
	ictx, stopIntegrator := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Log.Run(ictx, integrateEvery); close(done) }()
	bulkDone := make(chan struct{})
	go func() { d.Service.RunBulk(ictx); close(bulkDone) }() // queued and interrupted bulk jobs, then new ones
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready("http://" + ln.Addr().String())
	logger.Info("serving", "addr", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	serr := srv.Shutdown(sctx)
	stopIntegrator()
	<-done
	<-bulkDone
	// A last integration so the final checkpoint covers every answered request.
	if _, ierr := d.Log.Integrate(context.Background()); ierr != nil {
		logger.Error("final log integration", "err", ierr.Error())
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return serr
}
