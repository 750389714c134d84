vcl 4.1;

# A site's VCL with cdnpurge's purge handling: declare your backends, then
# include cdnpurge.vcl before your own subroutines, so that its vcl_recv
# sees PURGE and BAN first.

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

include "./cdnpurge.vcl";

# Your own vcl_recv, vcl_backend_response ... follow; Varnish runs them
# after cdnpurge.vcl's, then the built-in VCL.
