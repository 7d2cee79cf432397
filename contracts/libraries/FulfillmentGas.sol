// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CallbackOutcome} from "../interfaces/SibylTypes.sol";

/// @title FulfillmentGas
/// @notice What a fulfil transaction costs in gas and how it is shared among its requests, from what
/// the coordinator can see: the gas it executed (measured with gasleft), the length of its calldata,
/// and fixed bounds for the rest. Every bound errs on the operator's side, so the charges of a batch
/// cover its transaction (bench:fees checks the margin for every batch size, output size and gas price).
library FulfillmentGas {
    /// @notice What one fulfil measured about each of its requests, in memory, so settling reads no
    /// calldata twice.
    struct Delivery {
        CallbackOutcome[] outcomes;
        /// @dev Gas each request caused on its own: its callback and its refund balance's first write.
        uint256[] ownGas;
        /// @dev Each request's model fee, read while gas was still being measured.
        uint256[] modelFees;
        /// @dev Each result's output and metadata bytes: its weight in the shared gas.
        uint256[] resultBytes;
        address[] refundTo;
        uint256[] escrow;
        /// @dev Sequence number of the first result.
        uint256 firstSequence;
        uint256 gasAtStart;
        /// @dev Bytes of the function's own arguments before the results (see CALLDATA_BYTES_PER_RESULT).
        uint256 fixedCalldataBytes;
        /// @dev The operator's balance before the fulfil: its later write costs 20k if it was zero.
        uint256 operatorBalance;
        /// @dev Output and metadata bytes padded to words, as they sit in the calldata and the log.
        uint256 paddedBytes;
        /// @dev Co-signature bytes padded to words: in the calldata only.
        uint256 paddedSignatureBytes;
        uint256 totalBytes;
        uint256 ownGasTotal;
    }

    /// @notice What every request of a batch is charged from: the price paid per gas and the gas
    /// shared among them by weight.
    struct Rate {
        uint256 price;
        uint256 sharedGas;
        uint256 totalWeight;
        /// @dev Gas each request pays toward the later proof of its leaf (zero when proven at once).
        uint256 proofGas;
    }

    uint256 private constant TX_BASE_GAS = 21_000;
    /// @notice fulfill's ABI encoding before its results: selector, array offset, newRoot, proof and
    /// array length; deliver's: selector, array offset and length. Per result: its offset, the 11-word
    /// commitment, status, three offsets and three lengths (output, metadata, signatures). Only bytes in this encoding are charged: an
    /// operator cannot pad the calldata to raise the charge.
    uint256 internal constant FULFILL_CALLDATA_FIXED_BYTES = 4 + 32 + 32 + 8 * 32 + 32;
    uint256 internal constant DELIVER_CALLDATA_FIXED_BYTES = 4 + 32 + 32;
    uint256 private constant CALLDATA_BYTES_PER_RESULT = 32 + 11 * 32 + 4 * 32 + 3 * 32;
    /// @dev Calldata bytes the ABI guarantees are zero: the array offset and length words (28 each)...
    uint256 private constant ZERO_BYTES_FIXED = 56;
    /// @dev ... and in each result: the high bytes of its three addresses (3 × 12), two uint64
    /// (2 × 24), two uint32 (2 × 28), the uint96 escrow (20), the uint8 status (31), four offsets and
    /// three lengths, all below 2^32 (7 × 28).
    uint256 private constant ZERO_BYTES_PER_RESULT = 387;
    /// @dev EIP-2028 calldata prices and EIP-7623's floor of 10 gas per token (4 tokens a non-zero byte).
    uint256 private constant GAS_PER_NONZERO_BYTE = 16;
    uint256 private constant GAS_PER_ZERO_BYTE = 4;
    uint256 private constant FLOOR_GAS_PER_NONZERO_BYTE = 40;
    uint256 private constant FLOOR_GAS_PER_ZERO_BYTE = 10;
    /// @dev EIP-3529: clearing a slot refunds 4,800 gas, at most a fifth of the gas used. Each result
    /// clears its commitment; other refunds (restored balances) only lower the real cost further.
    uint256 private constant REFUND_PER_RESULT = 4_800;
    /// @dev Work after the last measurement, per result: its refund balance's second write (warm,
    /// dirty), ResultDelivered (LOG4 and its fixed data words) and the loop around them. Calibrated
    /// with bench:fees: the smallest margin over batch sizes 1–64, 256 B and 2 KB outputs and base fees
    /// 1–500 gwei stays above zero.
    uint256 private constant SETTLE_GAS_PER_RESULT = 6_200;
    /// @dev ... per byte of output and metadata, padded to words as the log holds them: log data (8),
    /// and copying it to memory for the log.
    uint256 private constant SETTLE_GAS_PER_BYTE = 9;
    /// @dev ... once: the operator's balance write (bounded apart), returning, and the dispatch before
    /// the first measurement.
    uint256 private constant SETTLE_GAS_FIXED = 4_600;
    /// @dev A result's weight in the shared gas, in bytes of output: its fixed work (checks, leaf,
    /// event, its slice of the proof) costs about as much as this many bytes of calldata and log.
    uint256 private constant SHARE_WEIGHT_PER_RESULT = 1_024;

    function start(
        uint256 count,
        uint256 firstSequence,
        uint256 gasAtStart,
        uint256 operatorBalance,
        uint256 fixedCalldataBytes
    ) internal pure returns (Delivery memory) {
        return
            Delivery({
                outcomes: new CallbackOutcome[](count),
                ownGas: new uint256[](count),
                modelFees: new uint256[](count),
                resultBytes: new uint256[](count),
                refundTo: new address[](count),
                escrow: new uint256[](count),
                firstSequence: firstSequence,
                gasAtStart: gasAtStart,
                fixedCalldataBytes: fixedCalldataBytes,
                operatorBalance: operatorBalance,
                paddedBytes: 0,
                paddedSignatureBytes: 0,
                totalBytes: 0,
                ownGasTotal: 0
            });
    }

    /// @notice Records result `i`'s sizes, where its refund goes and what it may be charged. Its
    /// co-signatures weigh like output bytes: they are its own calldata and its own verification.
    function record(
        Delivery memory delivery,
        uint256 i,
        uint256 outputLength,
        uint256 metadataLength,
        uint256 signaturesLength,
        address refundTo,
        uint256 escrow
    ) internal pure {
        uint256 bytes_ = outputLength + metadataLength + signaturesLength;
        delivery.resultBytes[i] = bytes_;
        delivery.totalBytes += bytes_;
        delivery.paddedBytes += _paddedToWords(outputLength) + _paddedToWords(metadataLength);
        delivery.paddedSignatureBytes += _paddedToWords(signaturesLength);
        delivery.refundTo[i] = refundTo;
        delivery.escrow[i] = escrow;
    }

    /// @notice Adds gas result `i` caused on its own (its callback, its refund balance's first write).
    function addOwnGas(Delivery memory delivery, uint256 i, uint256 gas) internal pure {
        delivery.ownGas[i] += gas;
        delivery.ownGasTotal += gas;
    }

    /// @notice The rate of a batch: `price`, the transaction's gas besides each request's own gas, to
    /// share by weight, and `proofGas` each request holds for a later proof. `calldataLength` is the
    /// transaction's; only the part in the function's ABI encoding is charged.
    function rate(
        Delivery memory delivery,
        uint256 price,
        uint256 calldataLength,
        uint256 proofGas
    ) internal view returns (Rate memory) {
        uint256 count = delivery.ownGas.length;
        uint256 encodedLength =
            delivery.fixedCalldataBytes +
                count * CALLDATA_BYTES_PER_RESULT +
                delivery.paddedBytes +
                delivery.paddedSignatureBytes;
        if (calldataLength > encodedLength) calldataLength = encodedLength;
        uint256 pending =
            SETTLE_GAS_FIXED +
                (delivery.operatorBalance == 0 ? 20_000 : 2_900) +
                count * SETTLE_GAS_PER_RESULT +
                delivery.paddedBytes * SETTLE_GAS_PER_BYTE;
        uint256 executed = delivery.gasAtStart - gasleft();
        return
            Rate({
                price: price,
                sharedGas: transactionGas(executed, pending, calldataLength, count) - delivery.ownGasTotal,
                totalWeight: count * SHARE_WEIGHT_PER_RESULT + delivery.totalBytes,
                proofGas: proofGas
            });
    }

    /// @notice Request `i`'s fee: its own gas, its share of the shared gas and its proof gas at the
    /// rate's price, plus its model fee, capped by its escrow.
    function feeOf(Delivery memory delivery, Rate memory batch, uint256 i) internal pure returns (uint256) {
        uint256 weight = SHARE_WEIGHT_PER_RESULT + delivery.resultBytes[i];
        uint256 gas =
            delivery.ownGas[i] +
                batch.proofGas +
                (batch.sharedGas * weight + batch.totalWeight - 1) / batch.totalWeight;
        uint256 fee = delivery.modelFees[i] + gas * batch.price;
        uint256 escrow = delivery.escrow[i];
        return fee < escrow ? fee : escrow;
    }

    /// @notice Gas of the whole transaction: `executed` gas measured so far plus `pending` gas still to
    /// run, the intrinsic 21k, calldata at EIP-2028 prices (or EIP-7623's floor when that is higher),
    /// less the refunds every fulfil earns.
    function transactionGas(
        uint256 executed,
        uint256 pending,
        uint256 calldataLength,
        uint256 results
    ) internal pure returns (uint256) {
        uint256 zeros = ZERO_BYTES_FIXED + results * ZERO_BYTES_PER_RESULT;
        if (zeros > calldataLength) zeros = calldataLength;
        uint256 nonzeros = calldataLength - zeros;
        uint256 calldataGas = nonzeros * GAS_PER_NONZERO_BYTE + zeros * GAS_PER_ZERO_BYTE;
        uint256 refund = results * REFUND_PER_RESULT;
        // The cap is a fifth of the gas used before refunds; the intrinsic gas, the calldata and what
        // was executed are a lower bound of it (a delivery without a proof executes little, so leaving
        // out the rest would undercount the refund a large delivery really gets).
        uint256 cap = (TX_BASE_GAS + calldataGas + executed) / 5;
        if (refund > cap) refund = cap;
        uint256 standard = calldataGas + executed + pending - refund;
        uint256 floor = nonzeros * FLOOR_GAS_PER_NONZERO_BYTE + zeros * FLOOR_GAS_PER_ZERO_BYTE;
        return TX_BASE_GAS + (standard > floor ? standard : floor);
    }

    function _paddedToWords(uint256 length) private pure returns (uint256) {
        return (length + 31) & ~uint256(31);
    }
}
