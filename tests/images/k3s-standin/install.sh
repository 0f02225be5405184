#!/bin/sh
# Test stand-in for the k3s installer (get.k3s.io), which cannot be fetched on the test machines.
# It honours the part of the installer's environment contract the k3s_common role relies on
# (INSTALL_K3S_EXEC, INSTALL_K3S_BIN_DIR, INSTALL_K3S_SKIP_DOWNLOAD, INSTALL_K3S_SKIP_ENABLE,
# INSTALL_K3S_SKIP_START) and leaves the same kinds of files behind: the systemd unit and its env file,
# the kubectl/crictl/ctr links, the killall and uninstall scripts.
set -eu

BIN_DIR=${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
CMD=$(echo "${INSTALL_K3S_EXEC:-server}" | cut -d' ' -f1)
if [ "$CMD" = server ]; then NAME=k3s; else NAME=k3s-$CMD; fi
UNIT=/etc/systemd/system/$NAME.service

if [ "${INSTALL_K3S_SKIP_DOWNLOAD:-false}" != true ]; then
    echo "k3s installer stand-in: cannot download k3s ${INSTALL_K3S_VERSION:-}; give the binary" >&2
    exit 1
fi
if [ ! -x "$BIN_DIR/k3s" ]; then
    echo "k3s installer stand-in: $BIN_DIR/k3s is missing" >&2
    exit 1
fi

for cmd in kubectl crictl ctr; do
    if [ ! -e "$BIN_DIR/$cmd" ]; then ln -sf k3s "$BIN_DIR/$cmd"; fi
done

cat > "$UNIT" <<UNIT
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-$UNIT.env
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=$BIN_DIR/k3s $CMD
UNIT
umask 077
touch "$UNIT.env"
umask 022

cat > "$BIN_DIR/k3s-killall.sh" <<'KILLALL'
#!/bin/sh
systemctl stop 'k3s*.service' || true
KILLALL
chmod 0755 "$BIN_DIR/k3s-killall.sh"

cat > "$BIN_DIR/$NAME-uninstall.sh" <<UNINSTALL
#!/bin/sh
set -x
$BIN_DIR/k3s-killall.sh
systemctl disable $NAME || true
rm -f $UNIT $UNIT.env
systemctl daemon-reload
for cmd in kubectl crictl ctr; do
    if [ -L $BIN_DIR/\$cmd ]; then rm -f $BIN_DIR/\$cmd; fi
done
rm -rf /etc/rancher/k3s /run/k3s /var/lib/rancher/k3s
rm -f $BIN_DIR/k3s $BIN_DIR/k3s-killall.sh
rm -f \$0
UNINSTALL
chmod 0755 "$BIN_DIR/$NAME-uninstall.sh"

systemctl daemon-reload
if [ "${INSTALL_K3S_SKIP_ENABLE:-false}" != true ]; then systemctl enable "$NAME"; fi
if [ "${INSTALL_K3S_SKIP_ENABLE:-false}" != true ] && [ "${INSTALL_K3S_SKIP_START:-false}" != true ]; then
    systemctl restart "$NAME"
fi
