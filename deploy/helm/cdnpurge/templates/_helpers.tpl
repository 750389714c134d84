{{/*
The release's names and labels, as `helm create` lays them out.
*/}}
{{- define "cdnpurge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cdnpurge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cdnpurge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cdnpurge.labels" -}}
helm.sh/chart: {{ include "cdnpurge.chart" . }}
{{ include "cdnpurge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cdnpurge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cdnpurge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cdnpurge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cdnpurge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
cdnpurge.targetsYAML is the targets file the chart's ConfigMap holds: `targets` as written when it
is a string, as YAML when it is a map; empty when there are none.
*/}}
{{- define "cdnpurge.targetsYAML" -}}
{{- $t := .Values.targets }}
{{- if kindIs "string" $t }}
{{- $t | trim }}
{{- else if $t }}
{{- toYaml $t }}
{{- end }}
{{- end }}

{{/*
cdnpurge.hasConfigMap says ("true" or "") whether the chart makes the targets ConfigMap.
*/}}
{{- define "cdnpurge.hasConfigMap" -}}
{{- if and (include "cdnpurge.targetsYAML" .) (not .Values.existingConfigMap) }}true{{ end }}
{{- end }}

{{/*
cdnpurge.tokenEnv lists, as JSON, the variables the targets' token_env fields name (read from
`targets`), with those named in tokenEnv and secretArns.providerTokens, sorted and each once.
*/}}
{{- define "cdnpurge.tokenEnv" -}}
{{- $names := list }}
{{- $yaml := include "cdnpurge.targetsYAML" . }}
{{- if and $yaml (not .Values.existingConfigMap) }}
{{- $file := fromYaml $yaml }}
{{- if hasKey $file "Error" }}
{{- fail (printf "targets is not valid YAML: %s" (get $file "Error")) }}
{{- end }}
{{- range $target := (get $file "targets" | default list) }}
{{- if and (kindIs "map" $target) (get $target "token_env") }}
{{- $names = append $names (get $target "token_env" | toString) }}
{{- end }}
{{- end }}
{{- end }}
{{- range .Values.tokenEnv }}
{{- $names = append $names . }}
{{- end }}
{{- range $name, $_ := .Values.secretArns.providerTokens }}
{{- $names = append $names $name }}
{{- end }}
{{- $names | uniq | sortAlpha | toJson }}
{{- end }}

{{/*
cdnpurge.secretEnv renders one secret setting (dict: root, var, field, optional): its *_ARN
variable when secretArns has the field, else a secretKeyRef into existingSecret; nothing with
neither (cdnpurge.validate has already refused that for a required setting).
*/}}
{{- define "cdnpurge.secretEnv" -}}
{{- $v := .root.Values }}
{{- $arn := get $v.secretArns .field }}
{{- if $arn }}
- name: {{ .var }}_ARN
  value: {{ $arn | quote }}
{{- else if $v.existingSecret }}
- name: {{ .var }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret | quote }}
      key: {{ get $v.secretKeys .field | quote }}
      optional: {{ .optional }}
{{- end }}
{{- end }}

{{/*
cdnpurge.tokenKey is the existingSecret key holding the provider token variable `.name`.
*/}}
{{- define "cdnpurge.tokenKey" -}}
{{- $keys := .root.Values.secretKeys.providerTokens | default dict }}
{{- get $keys .name | default (.name | lower | replace "_" "-") }}
{{- end }}

{{/*
cdnpurge.validate fails on values that would render a release that cannot work; the deployment
includes it first, so each message comes before any other.
*/}}
{{- define "cdnpurge.validate" -}}
{{- $v := .Values }}
{{- $field := ternary "appToken" "signingSecret" $v.socketMode.enabled }}
{{- $var := ternary "CDNPURGE_SLACK_APP_TOKEN" "CDNPURGE_SLACK_SIGNING_SECRET" $v.socketMode.enabled }}
{{- if and (not $v.existingSecret) (not (get $v.secretArns $field)) }}
{{- $key := get $v.secretKeys $field }}
{{- fail (printf "existingSecret is required: create a Secret holding %s under the key %q, e.g. `kubectl create secret generic cdnpurge --from-literal=%s=...`, and set existingSecret: cdnpurge (or give the setting's ARN as secretArns.%s)" $var $key $key $field) }}
{{- end }}
{{- if and $v.ingress.enabled $v.socketMode.enabled }}
{{- fail "ingress.enabled with socketMode.enabled: in Socket Mode the pods connect out to Slack and Slack calls no Request URL; turn the Ingress off" }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.hosts) }}
{{- fail "ingress.enabled with no ingress.hosts: name the host Slack's Request URLs use" }}
{{- end }}
{{- if and $v.secretArns.appToken (not $v.socketMode.enabled) }}
{{- fail "secretArns.appToken is set but socketMode.enabled is false: the app-level token is read only in Socket Mode" }}
{{- end }}
{{- if and $v.existingConfigMap $v.targets }}
{{- fail "both targets and existingConfigMap are set: give the targets file one way" }}
{{- end }}
{{- if and (not (include "cdnpurge.targetsYAML" .)) (not $v.existingConfigMap) (not $v.distributionId) }}
{{- fail "nothing to purge: set targets (the targets file), existingConfigMap (a ConfigMap holding it) or distributionId (one CloudFront distribution)" }}
{{- end }}
{{- if and $v.distributionId (or (include "cdnpurge.targetsYAML" .) $v.existingConfigMap) }}
{{- fail "distributionId is set along with a targets file: put the distribution in the file as a target" }}
{{- end }}
{{- $secretVars := list "CDNPURGE_SLACK_SIGNING_SECRET" "CDNPURGE_SLACK_WEBHOOK_URL" "CDNPURGE_SLACK_BOT_TOKEN" "CDNPURGE_SLACK_APP_TOKEN" "CDNPURGE_SEAL_SECRET" }}
{{- $secretVars = concat $secretVars (include "cdnpurge.tokenEnv" . | fromJsonArray) }}
{{- $chartVars := list "CDNPURGE_CONFIG" "CDNPURGE_CONFIG_YAML" "CDNPURGE_DISTRIBUTION_ID" "CDNPURGE_SLACK_CHANNEL" "PORT" }}
{{- range $name, $_ := $v.env }}
{{- if or (has $name $secretVars) (has (trimSuffix "_ARN" $name) $secretVars) }}
{{- fail (printf "env.%s: a secret setting never goes in values; put it in the Secret named by existingSecret (or its ARN in secretArns)" $name) }}
{{- end }}
{{- if has $name $chartVars }}
{{- if eq $name "PORT" }}
{{- fail "env.PORT: serve would listen there while the chart's port, probes and Service stay on 8080; leave PORT unset" }}
{{- end }}
{{- fail (printf "env.%s: the chart sets it; use targets, existingConfigMap, distributionId or channels" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
cdnpurge.env is the container's environment.
*/}}
{{- define "cdnpurge.env" -}}
{{- $v := .Values }}
{{- if or (include "cdnpurge.targetsYAML" .) $v.existingConfigMap }}
- name: CDNPURGE_CONFIG
  value: /etc/cdnpurge/targets.yaml
{{- else }}
- name: CDNPURGE_DISTRIBUTION_ID
  value: {{ $v.distributionId | quote }}
{{- if $v.channels }}
- name: CDNPURGE_SLACK_CHANNEL
  value: {{ join "," $v.channels | quote }}
{{- end }}
{{- end }}
{{- include "cdnpurge.secretEnv" (dict "root" . "var" "CDNPURGE_SLACK_SIGNING_SECRET" "field" "signingSecret" "optional" $v.socketMode.enabled) }}
{{- if $v.socketMode.enabled }}
{{- include "cdnpurge.secretEnv" (dict "root" . "var" "CDNPURGE_SLACK_APP_TOKEN" "field" "appToken" "optional" false) }}
{{- end }}
{{- include "cdnpurge.secretEnv" (dict "root" . "var" "CDNPURGE_SLACK_WEBHOOK_URL" "field" "webhookURL" "optional" true) }}
{{- include "cdnpurge.secretEnv" (dict "root" . "var" "CDNPURGE_SLACK_BOT_TOKEN" "field" "botToken" "optional" true) }}
{{- include "cdnpurge.secretEnv" (dict "root" . "var" "CDNPURGE_SEAL_SECRET" "field" "sealSecret" "optional" true) }}
{{- range $name := include "cdnpurge.tokenEnv" . | fromJsonArray }}
{{- $arn := get $v.secretArns.providerTokens $name }}
- name: {{ $name }}
{{- if $arn }}
  value: {{ $arn | quote }}
{{- else if $v.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.existingSecret | quote }}
      key: {{ include "cdnpurge.tokenKey" (dict "root" $ "name" $name) | quote }}
      optional: false
{{- else }}
{{- fail (printf "existingSecret is required: a target's token_env names %s; put the token in a Secret (key %q) and set existingSecret to its name (or give its ARN as secretArns.providerTokens.%s)" $name (include "cdnpurge.tokenKey" (dict "root" $ "name" $name)) $name) }}
{{- end }}
{{- end }}
{{- range $name, $value := $v.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
