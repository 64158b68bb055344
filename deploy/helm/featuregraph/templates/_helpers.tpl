{{/* Names and labels. */}}
{{- define "featuregraph.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "featuregraph.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "featuregraph.selectorLabels" -}}
app.kubernetes.io/name: {{ include "featuregraph.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "featuregraph.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "featuregraph.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "featuregraph.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "featuregraph.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "featuregraph.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
One FEATUREGRAPH_* variable: (list NAME VALUE). Nothing when VALUE is null or "" (the binary's
default applies); booleans and numbers are rendered as strings.
*/}}
{{- define "featuregraph.envVar" -}}
{{- $name := index . 0 }}{{- $value := index . 1 }}
{{- if not (or (kindIs "invalid" $value) (eq (toString $value) "")) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* The store, log and registry settings both commands take. */}}
{{- define "featuregraph.commonEnv" -}}
{{- $s := .Values.store }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_DYNAMODB_TABLE" $s.dynamodb.table) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_DYNAMODB_REGION" $s.dynamodb.region) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_DYNAMODB_ENDPOINT" $s.dynamodb.endpoint) }}
{{- if $s.dynamodb.consistentRead }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_DYNAMODB_CONSISTENT_READ" true) }}
{{- end }}
{{- if $s.redis.addr }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REDIS_ADDR" $s.redis.addr) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REDIS_CLUSTER" $s.redis.cluster) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REDIS_TLS" $s.redis.tls) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REDIS_USERNAME" $s.redis.username) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REDIS_POOL_SIZE" $s.redis.poolSize) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REDIS_TIMEOUT" $s.redis.timeout) }}
{{- with $s.redis.passwordSecret }}{{ if .name }}
- name: FEATUREGRAPH_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key | default "password" }}
{{- end }}{{ end }}
{{- end }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_LOG_LEVEL" .Values.log.level) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_LOG_FORMAT" .Values.log.format) }}
{{- if .Values.features.configMap }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_FEATURES" "/etc/featuregraph/features") }}
{{- end }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The registry ConfigMap volume, when one is given. */}}
{{- define "featuregraph.volumes" -}}
{{- if .Values.features.configMap }}
volumes:
  - name: features
    configMap:
      name: {{ .Values.features.configMap }}
{{- end }}
{{- end }}

{{- define "featuregraph.volumeMounts" -}}
{{- if .Values.features.configMap }}
volumeMounts:
  - name: features
    mountPath: /etc/featuregraph/features
    readOnly: true
{{- end }}
{{- end }}

{{/* The gateway container's environment. */}}
{{- define "featuregraph.gatewayEnv" -}}
{{- $g := .Values.gateway }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_ADDR" (printf ":%v" $g.port)) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_PRODUCTION" $g.production) }}
{{- if $g.clientsSecret }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_CLIENTS" "/etc/featuregraph/clients/clients.yaml") }}
{{- else if eq (toString $g.auth) "none" }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_AUTH" "none") }}
{{- else if $g.production }}
{{- fail "gateway.production needs gateway.clientsSecret (a Secret holding clients.yaml) or gateway.auth: none" }}
{{- end }}
{{- if $g.push }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_PUSH" true) }}
{{- end }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_SHUTDOWN_TIMEOUT" (printf "%vs" $g.shutdownTimeoutSeconds)) }}
{{- with $g.limits }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_REQUEST_TIMEOUT" .requestTimeout) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_MAX_BODY_BYTES" .maxBodyBytes) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_MAX_TOKENS" .maxTokens) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_MAX_DEPTH" .maxDepth) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_MAX_COMPLEXITY" .maxComplexity) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_MAX_IDS" .maxIds) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_MAX_COUNT" .maxCount) }}
{{- end }}
{{- with $g.cache }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_STATIC_CACHE_TTL" .staticTTL) }}
{{- if .staticRedis }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_STATIC_CACHE_REDIS" true) }}
{{- end }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_NEGATIVE_CACHE_TTL" .negativeTTL) }}
{{- end }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_BATCH_WAIT" $g.batchWait) }}
{{- if $g.admin.enabled }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_ADMIN_ADDR" (printf "127.0.0.1:%v" $g.admin.port)) }}
{{- end }}
{{- include "featuregraph.commonEnv" . }}
{{- end }}

{{/* The ingest worker container's environment. */}}
{{- define "featuregraph.ingestEnv" -}}
{{- $i := .Values.ingest }}
{{- with $i.kafka }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_BROKERS" (required "ingest.kafka.brokers is required when ingest.enabled is true" .brokers)) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_GROUP" .group) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_TOPICS" .topics) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_STREAMS" .streams) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_DLQ_TOPIC" .dlqTopic) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_CLIENT_ID" .clientId) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_KAFKA_RESET_OFFSET" .resetOffset) }}
{{- end }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_METRICS_ADDR" (printf ":%v" $i.metricsPort)) }}
{{- with $i.write }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_WRITE_BATCH" .batch) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_WRITE_LINGER" .linger) }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_WRITE_CONCURRENCY" .concurrency) }}
{{- end }}
{{- if $i.admin.enabled }}
{{- include "featuregraph.envVar" (list "FEATUREGRAPH_ADMIN_ADDR" (printf "127.0.0.1:%v" $i.admin.port)) }}
{{- end }}
{{- include "featuregraph.commonEnv" . }}
{{- end }}
