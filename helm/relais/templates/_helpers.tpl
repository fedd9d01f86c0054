{{/*
Chart name, truncated to 63 characters (DNS label limit).
*/}}
{{- define "relais.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources. Truncated to 52 characters so suffixes such as "-migrate" stay within 63.
*/}}
{{- define "relais.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "relais.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "relais.labels" -}}
helm.sh/chart: {{ include "relais.chart" . }}
{{ include "relais.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: relais
{{- end }}

{{/*
Labels shared by the server pods and the migration pods (NetworkPolicy selects both).
*/}}
{{- define "relais.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relais.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels selecting the server pods only (Service, PDB, topology spread, ServiceMonitor).
*/}}
{{- define "relais.serverSelectorLabels" -}}
{{ include "relais.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "relais.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "relais.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: repository@digest when a digest is set, else repository:tag (tag defaults to appVersion).
*/}}
{{- define "relais.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Public base URL: relais.publicUrl, else https://<ingress.host> when the Ingress is enabled, else empty.
*/}}
{{- define "relais.publicUrl" -}}
{{- if .Values.relais.publicUrl }}
{{- .Values.relais.publicUrl | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "https://%s" .Values.ingress.host }}
{{- end }}
{{- end }}

{{/*
Name of the Secret one entry of .Values.secrets comes from. Call with (dict "root" $ "ref" .Values.secrets.x).
*/}}
{{- define "relais.secretName" -}}
{{- if .ref.existingSecret }}
{{- .ref.existingSecret }}
{{- else if .root.Values.secrets.create }}
{{- include "relais.fullname" .root }}
{{- else }}
{{- required "secrets.existingSecret is required: the name of the Secret holding DATABASE_URL, the master key and the tokens (secrets.create=true is for demos only)" .root.Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{/*
Secret-backed environment variables: [envName, entry in .Values.secrets] for the selected chat platform.
*/}}
{{- define "relais.secretEnvEntries" -}}
{{- $entries := list (list "DATABASE_URL" "databaseUrl") (list "WHATSAPP_APP_SECRET" "whatsappAppSecret") (list "WHATSAPP_VERIFY_TOKEN" "whatsappVerifyToken") (list "WHATSAPP_ACCESS_TOKEN" "whatsappAccessToken") }}
{{- if eq .Values.chat.platform "mattermost" }}
{{- $entries = append $entries (list "MATTERMOST_TOKEN" "mattermostToken") }}
{{- else }}
{{- $entries = append $entries (list "ROCKETCHAT_TOKEN" "rocketchatToken") }}
{{- end }}
{{- toJson $entries }}
{{- end }}

{{- define "relais.masterKeyPath" -}}/etc/relais/secrets/master-key{{- end }}
{{- define "relais.configPath" -}}/etc/relais/config/relais.config.yaml{{- end }}

{{/*
Environment of the Relais container: public settings as values, secrets as secretKeyRefs, the master key as a file.
*/}}
{{- define "relais.env" -}}
{{- $v := .Values -}}
- name: PORT
  value: {{ $v.relais.port | quote }}
- name: RELAIS_ENV
  value: {{ $v.relais.env | quote }}
- name: RELAIS_LANGUAGE
  value: {{ $v.relais.language | quote }}
- name: LOG_LEVEL
  value: {{ $v.relais.logLevel | quote }}
{{- with include "relais.publicUrl" . }}
- name: RELAIS_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- if not (kindIs "invalid" $v.relais.retentionDays) }}
- name: RETENTION_DAYS
  value: {{ $v.relais.retentionDays | int | quote }}
{{- end }}
- name: RELAIS_MASTER_KEY_FILE
  value: {{ include "relais.masterKeyPath" . | quote }}
{{- if $v.config }}
- name: RELAIS_CONFIG
  value: {{ include "relais.configPath" . | quote }}
{{- end }}
{{- with $v.whatsapp.phoneNumberId }}
- name: WHATSAPP_PHONE_NUMBER_ID
  value: {{ . | quote }}
{{- end }}
{{- with $v.whatsapp.apiUrl }}
- name: WHATSAPP_API_URL
  value: {{ . | quote }}
{{- end }}
- name: CHAT_PLATFORM
  value: {{ $v.chat.platform | quote }}
{{- if eq $v.chat.platform "mattermost" }}
- name: MATTERMOST_URL
  value: {{ $v.chat.mattermost.url | quote }}
{{- with $v.chat.mattermost.team }}
- name: MATTERMOST_TEAM
  value: {{ . | quote }}
{{- end }}
{{- with $v.chat.mattermost.agents }}
- name: MATTERMOST_AGENTS
  value: {{ join "," . | quote }}
{{- end }}
{{- else }}
- name: ROCKETCHAT_URL
  value: {{ $v.chat.rocketchat.url | quote }}
- name: ROCKETCHAT_USER_ID
  value: {{ $v.chat.rocketchat.userId | quote }}
{{- with $v.chat.rocketchat.agents }}
- name: ROCKETCHAT_AGENTS
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- range $pair := include "relais.secretEnvEntries" . | fromJsonArray }}
{{- $ref := get $v.secrets (index $pair 1) }}
{{- if $ref.key }}
- name: {{ index $pair 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ include "relais.secretName" (dict "root" $ "ref" $ref) }}
      key: {{ $ref.key | quote }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Environment of the migration Job: `relais migrate` only needs the database (least privilege: no tokens, no master key).
*/}}
{{- define "relais.migrateEnv" -}}
- name: RELAIS_ENV
  value: {{ .Values.relais.env | quote }}
- name: LOG_LEVEL
  value: {{ .Values.relais.logLevel | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "relais.secretName" (dict "root" . "ref" .Values.secrets.databaseUrl) }}
      key: {{ .Values.secrets.databaseUrl.key | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod-level security context (Pod Security Standard "restricted").
*/}}
{{- define "relais.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container-level security context (Pod Security Standard "restricted", read-only root filesystem).
*/}}
{{- define "relais.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Volumes of the Relais pod: writable /tmp, the master key file, and the config file when `config` is given.
*/}}
{{- define "relais.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
- name: master-key
  secret:
    secretName: {{ include "relais.secretName" (dict "root" . "ref" .Values.secrets.masterKey) }}
    defaultMode: 288 # 0440: owner and fsGroup may read
    items:
      - key: {{ .Values.secrets.masterKey.key | quote }}
        path: master-key
{{- if .Values.config }}
- name: config
  configMap:
    name: {{ include "relais.fullname" . }}-config
    defaultMode: 292 # 0444
{{- end }}
{{- end }}

{{- define "relais.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: master-key
  mountPath: /etc/relais/secrets
  readOnly: true
{{- if .Values.config }}
- name: config
  mountPath: /etc/relais/config
  readOnly: true
{{- end }}
{{- end }}

{{/*
Labels selecting the webhook-only pods (webhooks.enabled): their Deployment, PDB and topology spread, and the Service.
*/}}
{{- define "relais.webhooksSelectorLabels" -}}
{{ include "relais.selectorLabels" . }}
app.kubernetes.io/component: webhooks
{{- end }}

{{/*
Pod template shared by the main Deployment (component "server": workers, chat listener, HTTP) and the webhook-only
Deployment (component "webhooks": HTTP only, RELAIS_WORKERS=false). Call with
(dict "root" $ "component" "server"|"webhooks" "resources" <requests and limits>).
*/}}
{{- define "relais.podTemplate" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $selector := include (printf "relais.%sSelectorLabels" .component) $root -}}
metadata:
  labels:
    {{- $selector | nindent 4 }}
    app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $annotations := dict }}
  {{- if $v.config }}
  {{- $_ := set $annotations "checksum/config" (include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum) }}
  {{- end }}
  {{- if $v.secrets.create }}
  {{- $_ := set $annotations "checksum/secret" (include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum) }}
  {{- end }}
  {{- $annotations = merge $annotations $v.podAnnotations }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "relais.serviceAccountName" $root }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "relais.podSecurityContext" $root | nindent 4 }}
  {{- if $v.topologySpread.enabled }}
  topologySpreadConstraints:
    {{- range $v.topologySpread.topologyKeys }}
    - topologyKey: {{ . }}
      maxSkew: {{ $v.topologySpread.maxSkew }}
      whenUnsatisfiable: {{ $v.topologySpread.whenUnsatisfiable }}
      labelSelector:
        matchLabels:
          {{- $selector | nindent 10 }}
      matchLabelKeys:
        - pod-template-hash
    {{- end }}
  {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: relais
      image: {{ include "relais.image" $root | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args: ["serve"]
      ports:
        - name: http
          containerPort: {{ $v.relais.port }}
          protocol: TCP
      env:
        {{- include "relais.env" $root | nindent 8 }}
        {{- if eq .component "webhooks" }}
        - name: RELAIS_WORKERS
          value: "false"
        {{- end }}
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ $v.probes.startup.periodSeconds }}
        timeoutSeconds: {{ $v.probes.startup.timeoutSeconds }}
        failureThreshold: {{ $v.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ $v.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ $v.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ $v.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet:
          path: /readyz/webhooks
          port: http
        periodSeconds: {{ $v.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ $v.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ $v.probes.readiness.failureThreshold }}
      {{- if gt (int $v.preStopSleepSeconds) 0 }}
      lifecycle:
        preStop:
          exec:
            command: ["sleep", {{ $v.preStopSleepSeconds | int | quote }}]
      {{- end }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- include "relais.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        {{- include "relais.volumeMounts" $root | nindent 8 }}
  volumes:
    {{- include "relais.volumes" $root | nindent 4 }}
{{- end }}
