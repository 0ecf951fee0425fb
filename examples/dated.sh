#!/usr/bin/env bash
# Prints an example application whose verdict depends on the day it is
# decided on, with its dates counted back from that day, so that it shows
# the same thing whatever the date:
#
#   examples/dated.sh short-residence [DAY]     moved to Hangzhou three months before DAY:
#                                               refused, residence_under_six_months
#   examples/dated.sh minor-no-guardian [DAY]   a boy of ten applying alone:
#                                               refused, minor_needs_guardian
#
# DAY is YYYY-MM-DD, today by default. The output is an application in the
# format of the .json files beside this script (see README.md here); send it
# to permitd as {"application": ...}. Needs only bash and date.
set -euo pipefail

usage() {
  echo "usage: $0 short-residence|minor-no-guardian [YYYY-MM-DD]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
day=${2:-$(date +%Y-%m-%d)}
[[ $day =~ ^([0-9]{4})-([0-9]{2})-([0-9]{2})$ ]] || usage
y=$((10#${BASH_REMATCH[1]})) m=$((10#${BASH_REMATCH[2]})) d=$((10#${BASH_REMATCH[3]}))
((m >= 1 && m <= 12 && d >= 1 && d <= 31)) || usage
((d > 28)) && d=28 # a day every month has

# ymd Y M prints the date Y-M-d, M counted from 1 and allowed below 1.
ymd() {
  local y=$1 m=$2
  while ((m < 1)); do m=$((m + 12)) y=$((y - 1)); done
  printf '%04d-%02d-%02d' "$y" "$m" "$d"
}

# check17 prints the GB 11643 check character (ISO 7064 MOD 11-2) of 17 digits.
check17() {
  local w=(7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2) s=0 i
  for i in {0..16}; do s=$((s + ${1:i:1} * w[i])); done
  local c=10X98765432
  printf '%s' "${c:s % 11:1}"
}

case $1 in
short-residence)
  cat <<EOF
{
  "name": "黄俊",
  "sex": "M",
  "ethnicity": "01",
  "birth_date": "1995-02-12",
  "citizen_id": "440306199502120078",
  "household_address": "广东省深圳市宝安区示例路 45 号 1102 室",
  "household_division": "440306",
  "residence_address": "浙江省杭州市西湖区示例街 16 号 3 幢 702 室",
  "residence_division": "330106",
  "residence_since": "$(ymd "$y" $((m - 3)))",
  "basis": [
    {"kind": "employment", "evidence": "labour contract HZ-LC-052601"}
  ]
}
EOF
  ;;
minor-no-guardian)
  birth=$(ymd $((y - 10)) "$m")
  id=420106${birth//-/}001
  cat <<EOF
{
  "name": "吴浩",
  "sex": "M",
  "ethnicity": "01",
  "birth_date": "$birth",
  "citizen_id": "$id$(check17 "$id")",
  "household_address": "湖北省武汉市武昌区示例路 9 号 3 栋 402 室",
  "household_division": "420106",
  "residence_address": "浙江省杭州市西湖区示例街 50 号 1 幢 301 室",
  "residence_division": "330106",
  "residence_since": "$(ymd $((y - 2)) "$m")",
  "basis": [
    {"kind": "study", "evidence": "student record HZ-XH-0220"}
  ]
}
EOF
  ;;
*) usage ;;
esac
