// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISibylCoordinator} from "../../../contracts/interfaces/ISibylCoordinator.sol";
import {
    Fulfillment,
    Model,
    RequestCommitment,
    ResultStatement
} from "../../../contracts/interfaces/SibylTypes.sol";
import {PendingLogFixture} from "./PendingLogFixture.sol";
import {Delivered} from "./SettlementFixture.sol";

/// @notice The pending-log fixture plus operators with known keys that co-sign results, models of
/// quorum 2 and 3, ResultStatement digests and signatures built here by hand, independently of the
/// coordinator's own code, and answers delivered by signers[1].
abstract contract QuorumFixture is PendingLogFixture {
    bytes32 internal constant QUORUM_2 = "quorum-2";
    bytes32 internal constant QUORUM_3 = "quorum-3";
    /// @dev Order of the secp256k1 group: an s above half of it is the malleated twin of a low s.
    uint256 internal constant SECP256K1_N =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 internal constant SIGNERS = 4;

    /// @dev Keyed operators, sorted by address so a test can pick co-signers in ascending order.
    uint256[SIGNERS] internal keys;
    address[SIGNERS] internal signers;

    function setUp() public virtual override {
        super.setUp();
        for (uint256 i; i < SIGNERS; ++i) {
            keys[i] = uint256(keccak256(abi.encode("sibyl co-signer", i))) % SECP256K1_N;
            signers[i] = vm.addr(keys[i]);
        }
        _sortSigners();
        for (uint256 i; i < SIGNERS; ++i) {
            _registerOperator(signers[i]);
            _declare(signers[i], QUORUM_2);
            _declare(signers[i], QUORUM_3);
        }
        _declare(operator, QUORUM_2);
        _declare(operator, QUORUM_3);
        coordinator.registerModel(QUORUM_2, _quorumModel(2));
        coordinator.registerModel(QUORUM_3, _quorumModel(3));
    }

    function _quorumModel(uint8 quorum) internal pure returns (Model memory model) {
        model = _model();
        model.quorum = quorum;
    }

    /// @dev Requests `modelId` (escrowing the least it takes now) until the request is assigned to
    /// `assignee`; each request id draws the assignee anew.
    function _requestFor(
        bytes32 modelId,
        address assignee
    ) internal returns (RequestCommitment memory commitment) {
        uint256 escrow = coordinator.estimateFee(modelId, 0, block.basefee);
        for (uint256 i; i < 64; ++i) {
            vm.recordLogs();
            vm.prank(requester);
            coordinator.request{value: escrow}(modelId, abi.encodePacked("question ", i), 0, requester);
            commitment = _requested(vm.getRecordedLogs());
            if (commitment.operator == assignee) return commitment;
        }
        revert AssertionFailed("never assigned to the operator");
    }

    /// @dev A pending request of `modelId` assigned to signers[1], answered "agreed", unsigned yet.
    function _answer(bytes32 modelId) internal returns (Fulfillment memory) {
        return _fulfillment(_requestFor(modelId, signers[1]), "agreed");
    }

    /// @dev Delivering `fulfillment` as signers[1] must revert with `err` and leave the request pending.
    function _expectRefused(Fulfillment memory fulfillment, bytes memory err) internal {
        _expectDeliverRejected(_single(fulfillment), signers[1], err);
        assertEq(
            coordinator.commitmentOf(fulfillment.commitment.requestId),
            keccak256(abi.encode(fulfillment.commitment)),
            "the request stays pending"
        );
    }

    function _invalidCosigner(uint256 requestId, address signer) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ISibylCoordinator.InvalidCosigner.selector, requestId, signer);
    }

    function _wrongCount(
        uint256 requestId,
        uint256 count,
        uint256 needed
    ) internal pure returns (bytes memory) {
        return
            abi.encodeWithSelector(ISibylCoordinator.WrongSignatureCount.selector, requestId, count, needed);
    }

    /// @dev Delivers `fulfillment` as signers[1] and returns what its ResultDelivered says.
    function _deliverOne(Fulfillment memory fulfillment) internal returns (Delivered memory) {
        vm.recordLogs();
        _deliverAs(_single(fulfillment), signers[1]);
        Delivered[] memory results = _delivered(vm.getRecordedLogs());
        assertEq(results.length, 1, "one ResultDelivered");
        assertEq(coordinator.commitmentOf(fulfillment.commitment.requestId), bytes32(0), "answered");
        return results[0];
    }

    /// @dev The EIP-712 digest of a ResultStatement for `verifyingContract` on chain `chainId`, built
    /// from the spec's strings.
    function _digestFor(
        address verifyingContract,
        uint256 chainId,
        ResultStatement memory statement
    ) internal pure returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256(bytes("Sibyl")),
                keccak256(bytes("1")),
                chainId,
                verifyingContract
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("ResultStatement(uint256 requestId,bytes32 outputHash,uint8 status)"),
                statement.requestId,
                statement.outputHash,
                statement.status
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _digest(ResultStatement memory statement) internal view returns (bytes32) {
        return _digestFor(address(coordinator), block.chainid, statement);
    }

    /// @dev What the co-signers of `fulfillment` vouch for.
    function _statementOf(Fulfillment memory fulfillment) internal pure returns (ResultStatement memory) {
        return
            ResultStatement({
                requestId: fulfillment.commitment.requestId,
                outputHash: keccak256(fulfillment.output),
                status: fulfillment.status
            });
    }

    /// @dev The first moment NoConsensus needs no evidence: halfway through the assignee's window.
    function _warpToNoConsensus(RequestCommitment memory commitment) internal {
        vm.warp(commitment.exclusiveUntil - EXCLUSIVE_WINDOW / 2);
    }

    /// @dev NoConsensus evidence: signer `index`'s signed statement that request `requestId`'s answer is
    /// (`output`, `status`), as 98 bytes (outputHash, status, signature).
    function _signedAnswer(
        uint256 index,
        uint256 requestId,
        bytes memory output,
        uint8 status
    ) internal view returns (bytes memory) {
        ResultStatement memory statement = ResultStatement({
            requestId: requestId,
            outputHash: keccak256(output),
            status: status
        });
        return abi.encodePacked(statement.outputHash, status, _signStatement(keys[index], statement));
    }

    /// @dev A 65-byte signature (r, s, v) of `digest`.
    function _signDigest(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signStatement(
        uint256 key,
        ResultStatement memory statement
    ) internal view returns (bytes memory) {
        return _signDigest(key, _digest(statement));
    }

    /// @dev Signatures of `fulfillment`'s statement by signers `indices`, concatenated in that order.
    function _cosign(
        Fulfillment memory fulfillment,
        uint256[] memory indices
    ) internal view returns (bytes memory all) {
        bytes32 digest = _digest(_statementOf(fulfillment));
        for (uint256 i; i < indices.length; ++i)
            all = bytes.concat(all, _signDigest(keys[indices[i]], digest));
    }

    function _indices(uint256 a) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function _indices(uint256 a, uint256 b) internal pure returns (uint256[] memory list) {
        list = new uint256[](2);
        (list[0], list[1]) = (a, b);
    }

    function _indices(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory list) {
        list = new uint256[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    /// @dev The account a 65-byte signature recovers to with the bare precompile, which accepts any s.
    function _recover(bytes32 digest, bytes memory signature) internal pure returns (address) {
        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        return ecrecover(digest, v, r, s);
    }

    /// @dev The same signature with s mirrored to the upper half and v flipped: the precompile recovers
    /// the same signer from it.
    function _malleated(bytes memory signature) internal pure returns (bytes memory) {
        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _split(bytes memory signature) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
    }

    function _sortSigners() private {
        for (uint256 i = 1; i < SIGNERS; ++i) {
            for (uint256 j = i; j > 0 && signers[j] < signers[j - 1]; --j) {
                (signers[j], signers[j - 1]) = (signers[j - 1], signers[j]);
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
    }
}
