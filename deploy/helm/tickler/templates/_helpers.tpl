{{/* Chart name, truncated to the 63 characters Kubernetes names allow. */}}
{{- define "tickler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name: the release name alone when it already contains the chart name. */}}
{{- define "tickler.fullname" -}}
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

{{- define "tickler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tickler.labels" -}}
helm.sh/chart: {{ include "tickler.chart" . }}
{{ include "tickler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tickler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tickler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tickler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tickler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the database URL and the JWT secret. */}}
{{- define "tickler.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "tickler.fullname" . }}
{{- end }}
{{- end }}

{{/* One "x" per pod of every enabled component: `len` of it counts the pods. */}}
{{- define "tickler.podMarks" -}}
{{- $root := . }}
{{- range $component, $spec := .Values.components }}
{{- if $spec.enabled }}
{{- $c := include "tickler.component" (list $root $spec) | fromYaml }}
{{- repeat (int (ternary $c.autoscaling.maxReplicas $c.replicas $c.autoscaling.enabled)) "x" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's settings: componentDefaults with the component's own values over them. */}}
{{- define "tickler.component" -}}
{{- $root := index . 0 }}
{{- $spec := index . 1 }}
{{- toYaml (mergeOverwrite (deepCopy $root.Values.componentDefaults) (deepCopy $spec)) }}
{{- end }}

{{/* A component's Dapr app id. Arguments: (list $ $name $component). */}}
{{- define "tickler.daprAppId" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $component := index . 2 }}
{{- default (printf "%s-%s" (include "tickler.fullname" $root) $name) $component.daprAppId | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image of the tickler containers. */}}
{{- define "tickler.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Environment every tickler container gets: listen addresses, secrets, Dapr. */}}
{{- define "tickler.env" -}}
- name: TICKLER_LISTEN
  value: "0.0.0.0:8080"
- name: TICKLER_DATA_DIR
  value: /data
- name: TICKLER_METRICS__LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
{{- if include "tickler.migrationJob" . }}
- name: TICKLER_DATABASE__MIGRATE_ON_START
  value: "false"
{{- end }}
{{- if and .Values.dapr.enabled .Values.dapr.secretStore }}
- name: TICKLER_SECRETS__PROVIDER
  value: dapr
- name: TICKLER_SECRETS__DAPR_STORE
  value: {{ include "tickler.fullname" . }}-secrets
- name: TICKLER_SECRETS__DAPR_SECRET_NAME
  value: {{ include "tickler.secretName" . }}
- name: TICKLER_SECRETS__DATABASE_URL_KEY
  value: {{ .Values.secrets.databaseUrlKey }}
- name: TICKLER_SECRETS__JWT_SECRET_KEY
  value: {{ .Values.secrets.jwtSecretKey }}
{{- else }}
- name: TICKLER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tickler.secretName" . }}
      key: {{ .Values.secrets.databaseUrlKey }}
- name: TICKLER_AUTH__JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "tickler.secretName" . }}
      key: {{ .Values.secrets.jwtSecretKey }}
# Keys the signing key replaced (comma-separated), during a key rotation; absent otherwise.
- name: TICKLER_AUTH__PREVIOUS_JWT_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ include "tickler.secretName" . }}
      key: previous-jwt-secrets
      optional: true
{{- end }}
{{- if .Values.dapr.enabled }}
- name: TICKLER_BUS__KIND
  value: dapr
- name: TICKLER_BUS__DAPR_PUBSUB
  value: {{ .Values.dapr.pubsub }}
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ required "dapr.appTokenSecret is required with dapr.enabled: a Secret whose key `token` the sidecar sends with every delivery" .Values.dapr.appTokenSecret }}
      key: token
{{- if .Values.dapr.apiTokenSecret }}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.dapr.apiTokenSecret }}
      key: token
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* "true" when migrations run in the hook Job (not with SQLite on a volume: that pod migrates). */}}
{{- define "tickler.migrationJob" -}}
{{- if and .Values.migrations.job (not .Values.persistence.enabled) }}true{{ end }}
{{- end }}
